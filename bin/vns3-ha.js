#!/usr/bin/env node
// Runs the built HA agent when there is one (installed package), else the TypeScript source through
// tsx, so that `npx vns3-ha` works in a fresh clone without a build.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/ha/cli.js', import.meta.url);
let cli;
if (existsSync(fileURLToPath(built))) {
  cli = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/ha/cli.ts', import.meta.url).href);
}
process.exitCode = await cli.main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
