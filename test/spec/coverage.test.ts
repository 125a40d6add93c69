import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { README_END, README_START, macroOperations, replaceTable, typedOperations } from '../../scripts/api-coverage.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const run = (...args: string[]): string => execFileSync(process.execPath, ['scripts/api-coverage.mjs', ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });

describe('README "API coverage by area"', () => {
  it('is exactly what scripts/api-coverage.mjs prints (re-run it with --write after changing the API)', () => {
    const printed = run().trim();
    const readme = readFileSync(`${repo}README.md`, 'utf8');
    const start = readme.indexOf(README_START);
    const end = readme.indexOf(README_END);
    expect(start, 'README has the start marker').toBeGreaterThanOrEqual(0);
    expect(readme.slice(start, end + README_END.length)).toBe(printed);
    expect(replaceTable(readme, printed)).toBe(readme);
  });

  it('counts what the code has: an operation simulated, one not, one a macro calls', () => {
    const rows = run().split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Area'));
    expect(rows.length).toBe(14);
    expect(rows.find((l) => l.startsWith('| Routing |'))).toMatch(/^\| Routing \| 5 \| 5 \| 5 \| [1-5] \|$/);
    const notSimulated = run('--not-simulated');
    expect(notSimulated).toContain('  GET /system/ssl\n');
    expect(notSimulated).not.toContain('GET /routes\n');
    const typed = typedOperations();
    expect(typed.get('GET /plugins/{id}')).toBe('network-edge-plugins');
    const used = macroOperations(typed);
    expect(used.has('POST /routes')).toBe(true);
    expect(used.has('GET /plugin-catalog')).toBe(false);
  });
});
