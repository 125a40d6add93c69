#!/usr/bin/env node
// CI guard: src/generated/vns3.ts must be exactly what openapi-typescript makes
// of spec/vns3.yaml, so nobody hand-edits it and nobody forgets to regenerate.
// Uses the same CLI as `npm run generate` so that output formatting matches.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const spec = join(root, 'spec', 'vns3.yaml');
const committed = join(root, 'src', 'generated', 'vns3.ts');
const cli = join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');

function fail(message) {
  process.stderr.write(`check-generated: ${message}\n`);
  process.exitCode = 1;
}

function firstDifference(a, b) {
  const left = a.split('\n');
  const right = b.split('\n');
  const n = Math.max(left.length, right.length);
  for (let i = 0; i < n; i++) {
    if (left[i] !== right[i]) {
      return `line ${i + 1}:\n  committed:   ${left[i] ?? '<end of file>'}\n  regenerated: ${right[i] ?? '<end of file>'}`;
    }
  }
  return 'files differ only in line endings';
}

function main() {
  if (!existsSync(committed)) {
    fail(`${committed} is missing; run \`npm run generate\`.`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'vns3-check-generated-'));
  try {
    const fresh = join(dir, 'vns3.ts');
    try {
      execFileSync(process.execPath, [cli, spec, '-o', fresh], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = err && typeof err === 'object' && 'stderr' in err ? String(err.stderr) : String(err);
      fail(`openapi-typescript failed on spec/vns3.yaml:\n${stderr}`);
      return;
    }
    const want = readFileSync(fresh, 'utf8');
    const have = readFileSync(committed, 'utf8');
    if (want !== have) {
      fail(
        'src/generated/vns3.ts is out of date with spec/vns3.yaml (or was edited by hand).\n' +
          `First difference at ${firstDifference(have, want)}\n` +
          'Run `npm run generate` and commit the result.',
      );
      return;
    }
    process.stdout.write('check-generated: src/generated/vns3.ts is up to date.\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
