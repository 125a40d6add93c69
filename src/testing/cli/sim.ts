/**
 * `vns3-sim`: runs simulated VNS3 controllers on loopback until SIGINT/SIGTERM (or `signal`), so that
 * scripts, other languages' SDKs and manual `curl` sessions can work against them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startSimulator, type Simulator, type SimulatorOptions, type TimingProfile } from '../simulator/index.js';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Stops the simulator; without it, SIGINT/SIGTERM of this process do. */
  signal?: AbortSignal;
}

const USAGE = `Usage: vns3-sim [options]

Runs simulated VNS3 controllers on 127.0.0.1 until interrupted (Ctrl+C / SIGTERM).

Options:
  --controllers N   number of controllers (default 4)
  --port P          first port; controllers take consecutive ports (default: any free port)
  --profile NAME    timing profile: standard (default: a reboot is 3 s down, then 1 s of 502/503),
                    fast (near zero, for test suites) or realistic (a real controller: minutes)
  --scale F         multiply every duration of the profile by F (e.g. 0.01)
  --password P      API password of every controller (default: a random one each)
  --dir D           folder for license.txt and the certificates (default: a new temporary folder)
  --json            print one JSON document on stdout instead of a table
  --help            show this help
`;

class UsageError extends Error {}

interface CliOptions {
  controllers: number;
  port?: number;
  profile: TimingProfile;
  scale: number;
  password?: string;
  dir?: string;
  json: boolean;
  help: boolean;
}

function parseOptions(argv: string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        controllers: { type: 'string' },
        port: { type: 'string' },
        profile: { type: 'string' },
        scale: { type: 'string' },
        password: { type: 'string' },
        dir: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const integer = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${text}'`);
    return n;
  };
  const controllers = values.controllers === undefined ? 4 : integer('controllers', values.controllers, 1, 1000);
  const port = values.port === undefined ? undefined : integer('port', values.port, 1, 65535 - controllers + 1);
  const profile = values.profile ?? 'standard';
  if (profile !== 'fast' && profile !== 'standard' && profile !== 'realistic') {
    throw new UsageError(`--profile must be 'fast', 'standard' or 'realistic', got '${profile}'`);
  }
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0) throw new UsageError(`--scale must be a positive number, got '${values.scale}'`);
  if (values.password !== undefined && values.password.length === 0) throw new UsageError('--password must not be empty');
  return {
    controllers,
    port,
    profile,
    scale,
    password: values.password,
    dir: values.dir,
    json: values.json ?? false,
    help: values.help ?? false,
  };
}

interface ControllerReport {
  name: string;
  host: string;
  url: string;
  password: string;
  privateIp: string;
  publicIp: string;
  publicDns: string;
  overlayIp: string;
  subnet: string;
  certificate: string;
  fingerprint256: string;
}

/** The document `vns3-sim --json` prints (also a `vns3 --var-file`). */
export interface SimReport {
  profile: string;
  scale: number;
  dir: string;
  license: string;
  controllers: ControllerReport[];
}

/**
 * Writes the license and each controller's certificate into `dir` and returns the document
 * `vns3-sim --json` prints for `sim` (tests build their var files with it, so they cannot drift).
 */
export async function writeSimReport(sim: Simulator, dir: string, options: { profile: string; scale: number }): Promise<SimReport> {
  const license = join(dir, 'license.txt');
  await writeFile(license, sim.license());
  return { profile: options.profile, scale: options.scale, dir, license, controllers: await writeFiles(sim, dir) };
}

async function writeFiles(sim: Simulator, dir: string): Promise<ControllerReport[]> {
  const rows: ControllerReport[] = [];
  for (const c of sim.controllers) {
    const certificate = join(dir, `${c.name}.pem`);
    await writeFile(certificate, c.certificate);
    rows.push({
      name: c.name,
      host: c.host,
      url: c.url,
      password: c.password,
      privateIp: c.identity.privateIp,
      publicIp: c.identity.publicIp,
      publicDns: c.identity.publicDns,
      overlayIp: c.identity.overlayIp,
      subnet: c.identity.subnet,
      certificate,
      fingerprint256: c.fingerprint256,
    });
  }
  return rows;
}

function table(report: SimReport): string {
  const columns: [string, keyof ControllerReport][] = [
    ['NAME', 'name'],
    ['HOST', 'host'],
    ['PASSWORD', 'password'],
    ['PRIVATE IP', 'privateIp'],
    ['PUBLIC IP', 'publicIp'],
    ['SUBNET', 'subnet'],
    ['CERTIFICATE', 'certificate'],
  ];
  const widths = columns.map(([title, key]) => Math.max(title.length, ...report.controllers.map((c) => c[key].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [
    `vns3-sim: ${report.controllers.length} simulated controller(s), profile ${report.profile}${report.scale !== 1 ? ` ×${report.scale}` : ''}`,
    '',
    line(columns.map(([title]) => title)),
    ...report.controllers.map((c) => line(columns.map(([, key]) => c[key]))),
    '',
    'Certificate fingerprints (SHA-256):',
    ...report.controllers.map((c) => `  ${c.name}  ${c.fingerprint256}`),
    '',
    `License (accepted by every controller): ${report.license}`,
    `API base: https://<HOST>/api, basic auth user "api"`,
    'Press Ctrl+C to stop.',
    '',
  ];
  return out.join('\n');
}

/** Resolves when `signal` aborts, or on SIGINT/SIGTERM of this process when no signal is given. */
function untilStopped(signal: AbortSignal | undefined): { stopped: Promise<void>; dispose(): void } {
  let dispose = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    if (signal) {
      if (signal.aborted) return resolve();
      const onAbort = (): void => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      dispose = () => signal.removeEventListener('abort', onAbort);
      return;
    }
    const stop = (): void => {
      dispose();
      resolve();
    };
    dispose = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return { stopped, dispose: () => dispose() };
}

/** Runs the command; resolves with the exit code (0 after a clean stop, 2 for bad options, 1 on failure). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let options: CliOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`vns3-sim: ${err.message}\nTry 'vns3-sim --help'.\n`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(USAGE);
    return 0;
  }

  // Listen for signals before the (slow) start-up, so that an early SIGTERM still stops cleanly.
  const { stopped, dispose } = untilStopped(io.signal);
  const ownDir = options.dir === undefined;
  let dir: string | undefined;
  let sim: Simulator | undefined;
  try {
    if (options.dir !== undefined) {
      dir = resolve(options.dir);
      await mkdir(dir, { recursive: true });
    } else {
      dir = await mkdtemp(join(tmpdir(), 'vns3-sim-'));
    }
    const simOptions: SimulatorOptions = {
      controllers: options.controllers,
      profile: options.profile,
      scale: options.scale,
      firstPort: options.port,
      password: options.password,
    };
    sim = await startSimulator(simOptions);
    const report = await writeSimReport(sim, dir, options);
    io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  } catch (err) {
    io.stderr.write(`vns3-sim: could not start: ${(err as Error).message}\n`);
    dispose();
    await sim?.stop();
    if (ownDir && dir) await rm(dir, { recursive: true, force: true });
    return 1;
  }

  await stopped;
  dispose();
  await sim.stop();
  // A folder we made is ours to clean up; a folder the user named keeps its files.
  if (ownDir) await rm(dir, { recursive: true, force: true });
  io.stderr.write('vns3-sim: stopped\n');
  return 0;
}
