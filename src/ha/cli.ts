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
import { DEFAULT_HA_CONFIG_FILE, type HaConfig } from './config.js';
import { startHaEndpoint, type HaEndpoint } from './endpoint.js';
import { HaUsageError, Vns3HaConfigError } from './errors.js';
import { createHaLogger, type HaLogger } from './log.js';
import { createHaMetrics, type HaMetrics } from './metrics.js';

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

const USAGE = `Usage: vns3-ha [--config FILE] [--dry-run] [--once] [--format text|json] [--metrics-port PORT] [--help]

Runs the VNS3 HA agent (primary or secondary mode) configured by a YAML file
(default ${DEFAULT_HA_CONFIG_FILE}, may be absent) and HAENV_* environment
variables, which win over the file.

In the plugin container (VNS3_HA_PLUGIN=1, set by the vns3-sdk image) the
plugin's directory (VNS3_HA_PLUGIN_ROOT, default /opt/hacontainer) holds
conf/vars.yml and, unless state_path says otherwise, state/vns3-ha-state.json.

  -c, --config FILE    read this vars.yml (it must exist)
      --dry-run        compute and print the plan; change nothing
      --once           run one check (and print the plan with --dry-run), then exit
      --format FORMAT  text (default at a terminal) or json (default otherwise:
                       one JSON object per line, for log collectors; needs pino)
      --metrics-port PORT
                       serve /healthz and /metrics (Prometheus; needs prom-client)
                       on PORT, at 127.0.0.1 unless metrics_host names another
                       address (same as metrics_port)
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
  metricsPort?: string | undefined;
  dryRun: boolean;
  once: boolean;
  help: boolean;
  format?: 'text' | 'json' | undefined;
}

function readArgs(argv: readonly string[]): Args {
  let values: { config?: string; 'dry-run'?: boolean; once?: boolean; help?: boolean; format?: string; 'metrics-port'?: string };
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
        'metrics-port': { type: 'string' },
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
  return { config: values.config, dryRun: values['dry-run'] === true, once: values.once === true, help: values.help === true, format, metricsPort: values['metrics-port'] };
}

/** A raw JSON line, for what must be said when pino itself is missing. */
const renderJson = (e: Vns3Event): string => `${JSON.stringify({ level: e.level ?? 'info', time: new Date().toISOString(), ...e })}\n`;

/** The plugin's directory, where vars.yml lives; `VNS3_HA_PLUGIN_ROOT` re-roots it (a test, another mount). */
export const PLUGIN_ROOT = '/opt/hacontainer';

/**
 * The plugin's conventions: its vars.yml under the plugin root, and in the plugin container
 * (`VNS3_HA_PLUGIN=1`) a default `state_path` under it, so that a restarted container still knows
 * the primary's routes.
 */
function pluginPaths(env: NodeJS.ProcessEnv): { file: string; defaults: Record<string, unknown> } {
  const root = (env.VNS3_HA_PLUGIN_ROOT?.trim() || PLUGIN_ROOT).replace(/\/+$/, '');
  const file = root === PLUGIN_ROOT ? DEFAULT_HA_CONFIG_FILE : `${root}/conf/vars.yml`;
  return { file, defaults: env.VNS3_HA_PLUGIN === '1' ? { state_path: `${root}/state/vns3-ha-state.json` } : {} };
}

/** Where the settings came from, in words: names the file looked for even when it was absent. */
function configSource(file: string | undefined, defaultFile: string): { text: string; file: string; found: boolean } {
  const path = file ?? defaultFile;
  const found = file !== undefined || existsSync(path);
  const text = found
    ? `settings from ${path} and HAENV_* variables`
    : `no config file at ${path} (the default; --config names another): settings from HAENV_* variables only`;
  return { text, file: path, found };
}

/** Every configuration problem and remark (unknown keys included) in one report on stderr. */
function reportConfigError(e: Vns3HaConfigError, source: ReturnType<typeof configSource>, json: boolean, err: CliStreams['stderr'], errLog: HaLogger): void {
  if (json) {
    errLog.log({ controller: '*', step: 'ha.config', level: 'error', detail: e.message, data: { problems: e.problems, warnings: e.warnings, configFile: source.file, configFileFound: source.found } });
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
  let out: HaLogger;
  let errLog: HaLogger;
  try {
    out = createHaLogger({ json, write: (l) => void streams.stdout.write(l) });
    errLog = createHaLogger({ json, write: (l) => void streams.stderr.write(l) });
  } catch (e) {
    // pino missing: said once, in the format asked for, without pino.
    streams.stderr.write(renderJson({ controller: '*', step: 'ha.setup', level: 'error', detail: (e as Error).message }));
    return 2;
  }
  const log = (e: Vns3Event): void => (e.level === 'error' && !json ? errLog : out).log(e);
  const fail = (e: unknown): void => errLog.log({ controller: '*', step: 'ha.error', level: 'error', detail: e instanceof Error ? e.message : String(e) });

  const env = options.env ?? process.env;
  const plugin = pluginPaths(env);
  const source = configSource(args.config, plugin.file);
  let agent: HaAgent;
  let cfg: HaConfig;
  let metrics: HaMetrics | undefined;
  try {
    const overrides: Record<string, unknown> = {};
    if (args.dryRun) overrides.dry_run = true;
    if (args.metricsPort !== undefined) overrides.metrics_port = args.metricsPort;
    cfg = await loadHaConfig({ file: args.config ?? (source.found ? source.file : null), env, overrides, defaults: plugin.defaults });
    for (const l of [out, errLog]) l.setLevel(cfg.logLevel);
    log({ controller: '*', step: 'ha.config', detail: source.text, data: { configFile: source.file, configFileFound: source.found } });
    for (const w of cfg.warnings) log({ controller: '*', step: 'ha.config.warning', detail: w, level: 'warn' });
    // A single check has nothing to serve: the endpoint is for a running agent.
    if (cfg.metricsPort !== undefined && !args.once) metrics = createHaMetrics();
    const m = metrics;
    agent = createHaAgent(cfg, { ...options.deps, onEvent: m ? (e) => (log(e), m.onEvent(e)) : log });
  } catch (e) {
    if (e instanceof Vns3HaConfigError) {
      reportConfigError(e, source, json, streams.stderr, errLog);
      return 2;
    }
    fail(e instanceof Vns3Error ? e : String(e));
    // A missing optional package is a setup problem, like a bad setting.
    return e instanceof Error && /needs the package/.test(e.message) ? 2 : 1;
  }

  if (args.once) return runOnce(agent, args.dryRun, fail);
  let endpoint: HaEndpoint | undefined;
  if (metrics) {
    metrics.attach(agent);
    try {
      endpoint = await startHaEndpoint(agent, { host: cfg.metricsHost, port: cfg.metricsPort, intervalMs: cfg.checkIntervalMs, metrics, now: options.deps?.now });
    } catch (e) {
      fail(`cannot serve metrics on ${cfg.metricsHost}:${cfg.metricsPort}: ${(e as Error).message}`);
      await agent.stop();
      return 1;
    }
    log({ controller: '*', step: 'ha.endpoint', detail: `serving ${endpoint.url}/healthz and ${endpoint.url}/metrics`, data: { url: endpoint.url } });
    if (endpoint.exposed) log({ controller: '*', step: 'ha.endpoint', level: 'warn', detail: `${endpoint.url} is reachable from other hosts (metrics_host ${cfg.metricsHost}); it has no authentication and shows no secrets` });
  }
  const stopped = stopRequested(options.signal, log);
  await agent.start();
  if (args.dryRun) {
    // The first scheduled check has run (or is running) once plan() gets its turn in the queue.
    await agent.checkOnce().then(() => agent.plan()).catch(fail);
  }
  await stopped;
  await agent.stop();
  await endpoint?.close();
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
