/**
 * `vns3-ha`: runs the HA agent from vars.yml and `HAENV_*` as the VNS3 HA
 * plugin container does, logging every check, transition and route change.
 * At a terminal the log is human-readable lines; otherwise (a container, a pipe) it is one JSON
 * object per line on stdout, what log collectors expect. Problems go to stderr. Exit codes:
 * 0 stopped cleanly, 1 runtime failure, 2 bad configuration or usage.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Vns3Error } from '../client/index.js';
import type { Vns3Event } from '../events.js';
import { createHaAgent, type HaAgent, type HaAgentDeps } from './agent.js';
import { loadHaConfig } from './config-file.js';
import { DEFAULT_HA_CONFIG_FILE, type HaLogLevel } from './config.js';
import { HaUsageError, Vns3HaConfigError } from './errors.js';

/** Where the command writes: the log to stdout, problems to stderr. `isTTY` picks the format. */
export interface CliStreams {
  stdout: { write(text: string): unknown; isTTY?: boolean | undefined };
  stderr: { write(text: string): unknown; isTTY?: boolean | undefined };
}

/** What a test (or an embedding process) gives the command instead of the process's own. */
export interface CliOptions {
  env?: NodeJS.ProcessEnv | undefined;
  /** Stops the agent when aborted (default: SIGTERM / SIGINT). */
  signal?: AbortSignal | undefined;
  /** For tests: cloud provider, client factory, … */
  deps?: HaAgentDeps | undefined;
}

const USAGE = `Usage: vns3-ha [--config FILE] [--dry-run] [--once] [--format text|json] [--help]

Runs the VNS3 HA agent (primary or secondary mode) configured by a YAML file
(default ${DEFAULT_HA_CONFIG_FILE}, may be absent) and HAENV_* environment
variables, which win over the file.

  -c, --config FILE    read this vars.yml (it must exist)
      --dry-run        compute and print the plan; change nothing
      --once           run one check (and print the plan with --dry-run), then exit
      --format FORMAT  text (default at a terminal) or json (default otherwise:
                       one JSON object per line, for log collectors)
  -h, --help           show this text

Settings (vars.yml key / environment variable), enumerated ones with their values:
  mode / HAENV_MODE            primary | secondary
  cloud / HAENV_CLOUD          aws | azure | overlay (overlay: secondary only)
  log_level / HAENV_LOG_LEVEL  debug | info | warn | error
See the README (HA section) for the others.

The log goes to stdout, problems to stderr. SIGTERM or SIGINT stops the agent cleanly.
`;

interface Args {
  config?: string | undefined;
  dryRun: boolean;
  once: boolean;
  help: boolean;
  format?: 'text' | 'json' | undefined;
}

function readArgs(argv: readonly string[]): Args {
  let values: { config?: string; 'dry-run'?: boolean; once?: boolean; help?: boolean; format?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        'dry-run': { type: 'boolean' },
        once: { type: 'boolean' },
        format: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    // util.parseArgs explains itself ("Unknown option '--x'"); its hint about `--` does not apply here.
    throw new HaUsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { format } = values;
  if (format !== undefined && format !== 'text' && format !== 'json') {
    throw new HaUsageError(`--format must be text or json, not ${JSON.stringify(format)}`);
  }
  return { config: values.config, dryRun: values['dry-run'] === true, once: values.once === true, help: values.help === true, format };
}

const LEVELS: Record<HaLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One event as a line: JSON for machines, `time LEVEL step detail {data}` for people. */
type Render = (event: Vns3Event) => string;

const renderJson: Render = (e) => `${JSON.stringify({ time: new Date().toISOString(), level: e.level ?? 'info', ...e })}\n`;

const renderText: Render = (e) => {
  const time = new Date().toISOString().slice(11, 19);
  const level = (e.level ?? 'info').toUpperCase().padEnd(5);
  const who = e.controller === '*' ? '' : ` [${e.controller}]`;
  const data = e.data && Object.keys(e.data).length > 0 ? ` ${JSON.stringify(e.data)}` : '';
  return `${time} ${level} ${e.step}${who}${e.detail ? `: ${e.detail}` : ''}${data}\n`;
};

/** Where the settings came from, in words: names the file looked for even when it was absent. */
function configSource(file: string | undefined): { text: string; file: string; found: boolean } {
  const path = file ?? DEFAULT_HA_CONFIG_FILE;
  const found = file !== undefined || existsSync(path);
  const text = found
    ? `settings from ${path} and HAENV_* variables`
    : `no config file at ${path} (the default; --config names another): settings from HAENV_* variables only`;
  return { text, file: path, found };
}

/** Every configuration problem and remark (unknown keys included) in one report on stderr. */
function reportConfigError(e: Vns3HaConfigError, source: ReturnType<typeof configSource>, json: boolean, err: CliStreams['stderr']): void {
  if (json) {
    err.write(renderJson({ controller: '*', step: 'ha.config', level: 'error', detail: e.message, data: { problems: e.problems, warnings: e.warnings, configFile: source.file, configFileFound: source.found } }));
    return;
  }
  const notes = e.warnings.map((w) => `  - note: ${w}\n`).join('');
  err.write(`vns3-ha: ${e.message}\n${notes}(${source.text})\n`);
}

/** Runs `vns3-ha` with `argv` (without the node and script names); resolves with the exit code. */
export async function main(argv: readonly string[], streams: CliStreams, options: CliOptions = {}): Promise<number> {
  let args: Args;
  try {
    args = readArgs(argv);
  } catch (e) {
    streams.stderr.write(`vns3-ha: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    streams.stdout.write(USAGE);
    return 0;
  }
  const json = args.format === undefined ? streams.stdout.isTTY !== true : args.format === 'json';
  const render = json ? renderJson : renderText;
  let minLevel = LEVELS.info;
  const log = (e: Vns3Event): void => {
    if (LEVELS[e.level ?? 'info'] < minLevel) return;
    const stream = e.level === 'error' && !json ? streams.stderr : streams.stdout;
    stream.write(render(e));
  };
  const fail = (e: unknown): void => void streams.stderr.write(render({ controller: '*', step: 'ha.error', level: 'error', detail: e instanceof Error ? e.message : String(e) }));

  const source = configSource(args.config);
  let agent: HaAgent;
  try {
    const cfg = await loadHaConfig({
      file: args.config,
      env: options.env ?? process.env,
      overrides: args.dryRun ? { dry_run: true } : undefined,
    });
    minLevel = LEVELS[cfg.logLevel];
    log({ controller: '*', step: 'ha.config', detail: source.text, data: { configFile: source.file, configFileFound: source.found } });
    for (const w of cfg.warnings) log({ controller: '*', step: 'ha.config.warning', detail: w, level: 'warn' });
    agent = createHaAgent(cfg, { ...options.deps, onEvent: log });
  } catch (e) {
    if (e instanceof Vns3HaConfigError) {
      reportConfigError(e, source, json, streams.stderr);
      return 2;
    }
    fail(e instanceof Vns3Error ? e : String(e));
    return 1;
  }

  if (args.once) return runOnce(agent, args.dryRun, fail);
  const stopped = stopRequested(options.signal, log);
  await agent.start();
  if (args.dryRun) {
    // The first scheduled check has run (or is running) once plan() gets its turn in the queue.
    await agent.checkOnce().then(() => agent.plan()).catch(fail);
  }
  await stopped;
  await agent.stop();
  return 0;
}

/** `--once`: one check (and the plan with `--dry-run`); exit 1 when the check failed. */
async function runOnce(agent: HaAgent, dryRun: boolean, fail: (e: unknown) => void): Promise<number> {
  try {
    const check = await agent.checkOnce();
    if (dryRun) await agent.plan();
    return check.error ? 1 : 0;
  } catch (e) {
    fail(e);
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
