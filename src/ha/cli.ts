/**
 * `vns3-ha`: runs the HA agent from vars.yml and `HAENV_*` as the VNS3 HA
 * plugin container does, logging every check, transition and route change
 * as one JSON object per line on stdout (what container log collectors
 * expect). Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad
 * configuration or usage.
 */
import { Vns3Error } from '../client/index.js';
import type { Vns3Event } from '../events.js';
import { createHaAgent, type HaAgent, type HaAgentDeps } from './agent.js';
import { loadHaConfig } from './config-file.js';
import { DEFAULT_HA_CONFIG_FILE, type HaLogLevel } from './config.js';
import { HaUsageError, Vns3HaConfigError } from './errors.js';

/** Where the command writes: JSON log lines to stdout, usage errors to stderr. */
export interface CliStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** What a test (or an embedding process) gives the command instead of the process's own. */
export interface CliOptions {
  env?: NodeJS.ProcessEnv | undefined;
  /** Stops the agent when aborted (default: SIGTERM / SIGINT). */
  signal?: AbortSignal | undefined;
  /** For tests: cloud provider, client factory, … */
  deps?: HaAgentDeps | undefined;
}

const USAGE = `Usage: vns3-ha [--config FILE] [--dry-run] [--once] [--help]

Runs the VNS3 HA agent (primary or secondary mode) configured by a YAML file
(default ${DEFAULT_HA_CONFIG_FILE}, may be absent) and HAENV_* environment
variables, which win over the file.

  --config FILE  read this vars.yml (it must exist)
  --dry-run      compute and print the plan; change nothing
  --once         run one check (and print the plan with --dry-run), then exit
  --help         show this text

Logs are JSON lines on stdout. SIGTERM or SIGINT stops the agent cleanly.
`;

interface Args {
  config?: string;
  dryRun: boolean;
  once: boolean;
  help: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { dryRun: false, once: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--dry-run') args.dryRun = true;
    else if (a === '--once') args.once = true;
    else if (a === '--config' || a.startsWith('--config=')) {
      const value = a === '--config' ? argv[++i] : a.slice('--config='.length);
      if (!value) throw new HaUsageError('--config needs a file name');
      args.config = value;
    } else throw new HaUsageError(`unknown option ${a}`);
  }
  return args;
}

const LEVELS: Record<HaLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Runs `vns3-ha` with `argv` (without the node and script names); resolves with the exit code. */
export async function main(argv: readonly string[], streams: CliStreams, options: CliOptions = {}): Promise<number> {
  const line = (o: Record<string, unknown>): void => void streams.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...o })}\n`);
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    streams.stderr.write(`vns3-ha: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    streams.stdout.write(USAGE);
    return 0;
  }

  let minLevel = LEVELS.info;
  const log = (e: Vns3Event): void => {
    if (LEVELS[e.level ?? 'info'] >= minLevel) line({ level: e.level ?? 'info', ...e });
  };

  let agent: HaAgent;
  try {
    const cfg = await loadHaConfig({
      file: args.config,
      env: options.env ?? process.env,
      overrides: args.dryRun ? { dry_run: true } : undefined,
    });
    minLevel = LEVELS[cfg.logLevel];
    for (const w of cfg.warnings) log({ controller: '*', step: 'ha.config.warning', detail: w, level: 'warn' });
    agent = createHaAgent(cfg, { ...options.deps, onEvent: log });
  } catch (e) {
    if (e instanceof Vns3HaConfigError) {
      line({ level: 'error', controller: '*', step: 'ha.config', detail: e.message, data: { problems: e.problems } });
      return 2;
    }
    line({ level: 'error', controller: '*', step: 'ha.config', detail: e instanceof Vns3Error ? e.message : String(e) });
    return 1;
  }

  if (args.once) return runOnce(agent, args.dryRun, line);
  const stopped = stopRequested(options.signal, log);
  await agent.start();
  if (args.dryRun) {
    // The first scheduled check has run (or is running) once plan() gets its turn in the queue.
    await agent.checkOnce().then(() => agent.plan()).catch((e: unknown) => log({ controller: '*', step: 'ha.error', detail: (e as Error).message, level: 'error' }));
  }
  await stopped;
  await agent.stop();
  return 0;
}

/** `--once`: one check (and the plan with `--dry-run`); exit 1 when the check failed. */
async function runOnce(agent: HaAgent, dryRun: boolean, line: (o: Record<string, unknown>) => void): Promise<number> {
  try {
    const check = await agent.checkOnce();
    if (dryRun) await agent.plan();
    return check.error ? 1 : 0;
  } catch (e) {
    line({ level: 'error', controller: '*', step: 'ha.error', detail: (e as Error).message });
    return 1;
  } finally {
    await agent.stop();
  }
}

/** Resolves when the caller's signal aborts or, without one, on SIGTERM or SIGINT (logged). */
function stopRequested(signal: AbortSignal | undefined, log: (e: Vns3Event) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal) {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const onSignal = (name: string) => () => {
      log({ controller: '*', step: 'ha.signal', detail: `${name} received; stopping` });
      process.off('SIGTERM', term);
      process.off('SIGINT', int);
      resolve();
    };
    const term = onSignal('SIGTERM');
    const int = onSignal('SIGINT');
    process.once('SIGTERM', term);
    process.once('SIGINT', int);
  });
}
