// `npm test`: vitest, without ANSI colours when the output is not a terminal (a CI log, a pipe, a
// file). Vitest's colour library looks at TERM, not at whether stdout is a terminal, so piped
// output would otherwise be full of escape codes. FORCE_COLOR still forces colours.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const env = { ...process.env };
if (!process.stdout.isTTY && !('FORCE_COLOR' in env)) env.NO_COLOR = '1';
// The command vitest's package.json names in `bin` (its exports map does not offer the file).
const pkgJson = createRequire(import.meta.url).resolve('vitest/package.json');
const vitest = join(dirname(pkgJson), 'vitest.mjs');
const child = spawn(process.execPath, [vitest, 'run', ...process.argv.slice(2)], { stdio: 'inherit', env });
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
