// Shared by the package's commands: run the built module when there is one (an installed package),
// else the TypeScript source through tsx, so that `npx vns3-sim` / `npx vns3-ha` work in a fresh
// clone after `npm ci`, without a build.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `built` and `source` are paths relative to the package root, without extension. */
export async function launch(built, source) {
  const builtUrl = new URL(`../${built}.js`, import.meta.url);
  let cli;
  if (existsSync(fileURLToPath(builtUrl))) {
    cli = await import(builtUrl.href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    cli = await import(new URL(`../${source}.ts`, import.meta.url).href);
  }
  process.exitCode = await cli.main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
