/**
 * `npm run bench -- <name> [args]` runs bench/<name>.ts. Benchmarks print figures; they never
 * pass or fail on timing.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exitCode = 2;
} else {
  const mod = (await import(`./${name}.ts`)) as { run(args: string[]): Promise<void> };
  await mod.run(args);
}
