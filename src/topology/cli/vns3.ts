/**
 * `vns3`: a whole topology from one file — `validate`, `plan`, `apply`, `status`. Built on
 * `vns3-sdk/topology`; this file only parses the command line, prints, and maps outcomes to exit
 * codes. Node's `util.parseArgs` serves here: the subcommand is the first positional, each has its
 * own small option table, and the help is written by hand anyway — no dependency needed.
 *
 * Exit codes: 0 done (plan with --detailed-exitcode: nothing to do; status: the mesh matches);
 * 1 error (bad command line, invalid file or variables, a controller failed, the topology not
 * reached, apply declined); 2 plan with --detailed-exitcode: changes to apply; 3 status: read, but
 * the mesh does not match the file; 130 interrupted.
 */
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { isatty } from 'node:tty';
import { parseArgs } from 'node:util';
import { Deadline } from '../../abort.js';
import { parseControllerAddress, Vns3Error } from '../../client/index.js';
import { applyTopology } from '../apply.js';
import { Vns3TopologyError, Vns3TopologyNotReachedError, Vns3TopologyPlanError, formatProblem } from '../errors.js';
import { formatPlan } from '../format.js';
import { loadTopology } from '../load.js';
import { planTopology, type TopologyPlan } from '../plan.js';
import { createRedactor } from '../secret.js';
import { formatStatus, readStatus } from '../status.js';
import { renderSvg } from '../svg.js';
import type { Topology } from '../types.js';
import { createProgress } from './progress.js';

/** What the command talks to; the bin passes the process's streams. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  /** Stops the command; without it, SIGINT/SIGTERM of this process do. */
  signal?: AbortSignal;
}

/** The exit codes of `vns3`, as the README documents them. */
export const EXIT = { ok: 0, error: 1, changes: 2, mismatch: 3, interrupted: 130 } as const;

const USAGE = `Usage: vns3 <command> <topology-file> [options]

Commands:
  validate <file>   check the file and its variables (schema, names, references); contacts nothing
  plan <file>       read every controller and show what apply would change (+ add, ~ change, - remove)
  apply <file>      make the controllers match the file, wait for the mesh, read it back
  status <file>     the mesh against the file: links, learned routes, keysets, licenses, HA roles

Options:
  --var-file F          variables from a JSON file (terraform output -json, vns3-sim --json, or
                        a plain object); repeatable, later files win. Also VNS3_VAR_<name>.
  --json                machine-readable output (apply: NDJSON events, then a result line)
  --detailed-exitcode   plan: exit 0 when there is nothing to do, 2 when there are changes
  --yes, -y             apply: do not ask for confirmation (it is asked only at a terminal)
  --svg FILE            status: also draw the mesh as an SVG picture
  --concurrency N       controllers worked on at once (default 16)
  --timeout T           overall limit, e.g. 90s, 20m, 1h (default 30m)
  --verbose, -v         every event, polls included
  --help, -h            this help

Exit codes: 0 done · 1 error · 2 plan --detailed-exitcode found changes · 3 status found problems · 130 interrupted
`;

class UsageError extends Error {}

interface Args {
  command: 'validate' | 'plan' | 'apply' | 'status';
  file: string;
  varFiles: string[];
  json: boolean;
  detailedExitcode: boolean;
  yes: boolean;
  svg?: string;
  concurrency?: number;
  timeoutMs: number;
  verbose: boolean;
}

/** `90s`, `20m`, `1h`, `500ms`, or a number of seconds. */
function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--timeout must be a duration such as 90s, 20m or 1h, got '${text}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * unit;
  if (ms <= 0 || ms > 2 ** 31 - 1) throw new UsageError(`--timeout must be above 0 and at most 24 days, got '${text}'`);
  return ms;
}

function parse(argv: string[]): Args | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'var-file': { type: 'string', multiple: true },
        json: { type: 'boolean' },
        'detailed-exitcode': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        svg: { type: 'string' },
        concurrency: { type: 'string' },
        timeout: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals.length === 0) return 'help';
  const [command, file, ...rest] = positionals;
  if (command !== 'validate' && command !== 'plan' && command !== 'apply' && command !== 'status') throw new UsageError(`unknown command '${command}'`);
  if (!file) throw new UsageError(`${command} needs a topology file`);
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const only = (flag: string, set: unknown, commands: string[]): void => {
    if (set !== undefined && !commands.includes(command)) throw new UsageError(`--${flag} is an option of ${commands.join(' and ')}, not ${command}`);
  };
  only('detailed-exitcode', v['detailed-exitcode'], ['plan']);
  only('yes', v.yes, ['apply']);
  only('svg', v.svg, ['status']);
  let concurrency: number | undefined;
  if (v.concurrency !== undefined) {
    concurrency = Number(v.concurrency);
    if (!/^\d+$/.test(v.concurrency) || concurrency < 1 || concurrency > 1000) throw new UsageError(`--concurrency must be a whole number from 1 to 1000, got '${v.concurrency}'`);
  }
  return {
    command,
    file,
    varFiles: v['var-file'] ?? [],
    json: v.json === true,
    detailedExitcode: v['detailed-exitcode'] === true,
    yes: v.yes === true,
    svg: v.svg,
    concurrency,
    timeoutMs: v.timeout === undefined ? 30 * 60_000 : duration(v.timeout),
    verbose: v.verbose === true,
  };
}

/** host (as clients and events write it: `host:port`) → controller name. */
function namesByHost(topology: Topology): Map<string, string> {
  const names = new Map<string, string>();
  for (const c of topology.controllers) {
    try {
      names.set(parseControllerAddress(c.host).host, c.name);
    } catch {
      names.set(c.host, c.name);
    }
  }
  return names;
}

/** Colours for plan lines at a terminal (NO_COLOR turns them off). */
function colourPlan(text: string, on: boolean): string {
  if (!on) return text;
  const paint: Record<string, string> = { '+': '32', '~': '33', '-': '31', '!': '31' };
  return text.replace(/^( {2})([+~\-!]) /gm, (_, pad: string, sign: string) => `${pad}\x1b[${paint[sign]}m${sign}\x1b[39m `);
}

async function confirm(io: CliIo, say: (text: string) => void): Promise<boolean> {
  say('\nDo you want to perform these actions? Only "yes" is accepted.');
  const rl = createInterface({ input: io.stdin ?? process.stdin, terminal: false });
  try {
    const answer = await rl.question('  Enter a value: ');
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}

interface Context {
  args: Args;
  io: CliIo;
  topology: Topology;
  signal: AbortSignal;
  /** Writes to stdout with every secret of the topology redacted. */
  out: (text: string) => void;
  colour: boolean;
}

/** Runs fn under the command's --timeout and the interrupt, through the SDK's one deadline type. */
async function withTimeout<T>(ctx: Context, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new Deadline(ctx.args.timeoutMs, { signal: ctx.signal });
  try {
    return await fn(deadline.signal);
  } finally {
    deadline.dispose();
  }
}

async function runPlan(ctx: Context): Promise<number> {
  const { args, topology, out } = ctx;
  const plan = await withTimeout(ctx, (signal) => planTopology(topology, { concurrency: args.concurrency, signal }));
  out(args.json ? `${JSON.stringify(plan, null, 2)}\n` : `${colourPlan(formatPlan(plan), ctx.colour)}\n`);
  if (plan.summary.problems > 0) return EXIT.error;
  return args.detailedExitcode && plan.changed ? EXIT.changes : EXIT.ok;
}

async function runApply(ctx: Context): Promise<number> {
  const { args, io, topology, signal, out } = ctx;
  const tty = io.stdout.isTTY === true && !args.json;
  const names = namesByHost(topology);
  const progress = createProgress({ write: out, tty, json: args.json, verbose: args.verbose, colour: ctx.colour, names });
  // Only a person at a terminal is asked; a pipeline without --yes goes ahead (as the issue asks).
  const ask = !args.yes && !args.json && (io.stdin ? io.stdin.isTTY === true : isatty(0));
  try {
    const result = await applyTopology(topology, {
      signal,
      timeoutMs: args.timeoutMs,
      concurrency: args.concurrency,
      onEvent: progress.onEvent,
      onPlan: (plan: TopologyPlan) => {
        if (args.json) out(`${JSON.stringify({ type: 'plan', ...plan })}\n`);
        else progress.line(`${colourPlan(formatPlan(plan), ctx.colour)}\n`);
      },
      confirm: async () => {
        if (!ask) return true;
        progress.pause();
        const yes = await confirm(io, (t) => out(`${t}\n`));
        progress.resume();
        return yes;
      },
    });
    progress.stop();
    if (!result.applied) {
      out(args.json ? `${JSON.stringify({ type: 'result', ok: false, applied: false })}\n` : 'Apply cancelled: nothing was written.\n');
      return EXIT.error;
    }
    const seconds = (result.elapsedMs / 1000).toFixed(1);
    out(args.json ? `${JSON.stringify({ type: 'result', ok: true, applied: true, elapsedMs: Math.round(result.elapsedMs), status: result.status })}\n` : `\n${formatStatus(result.status)}\n\nApply complete after ${seconds} s: the topology is reached.\n`);
    return EXIT.ok;
  } finally {
    progress.stop();
  }
}

async function runStatus(ctx: Context): Promise<number> {
  const { args, topology, out } = ctx;
  const status = await withTimeout(ctx, (signal) => readStatus(topology, { concurrency: args.concurrency, signal }));
  if (args.svg) await writeFile(args.svg, createRedactor(topology.secrets)(renderSvg(status, topology.name ?? 'VNS3 mesh')));
  out(args.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n${args.svg ? `\nPicture written to ${args.svg}\n` : ''}`);
  return status.ok ? EXIT.ok : EXIT.mismatch;
}

/** An error as the user should read it: what happened, where, and what to do. */
function explain(error: unknown, names: ReadonlyMap<string, string>): { text: string; json: Record<string, unknown> } {
  if (error instanceof Vns3TopologyError) {
    const problems = error.problems.map(formatProblem);
    return { text: `vns3: the topology file has ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}\n`, json: { type: 'error', kind: 'topology', problems: error.problems } };
  }
  if (error instanceof Vns3TopologyPlanError) {
    return { text: `vns3: the plan has problems (the lines with !), nothing was written:\n${error.problems.map((p) => `  ! ${p}`).join('\n')}\nFix the file (or the controller), then apply again.\n`, json: { type: 'error', kind: 'plan', problems: error.problems } };
  }
  if (error instanceof Vns3TopologyNotReachedError) {
    return { text: `vns3: the topology was not reached:\n${error.problems.map((p) => `  ! ${p}`).join('\n')}\nRun 'vns3 status' to look again; 'vns3 apply' again once the cause is fixed.\n`, json: { type: 'error', kind: 'not-reached', problems: error.problems } };
  }
  const message = error instanceof Error ? error.message : String(error);
  const host = error instanceof Vns3Error ? error.controller : undefined;
  const where = host ? ` [controller ${names.has(host) ? `${names.get(host)} (${host})` : host}]` : '';
  const kind = error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'failed';
  const hint = kind === 'timeout' ? '\nThe --timeout ran out; raise it, or look at the controllers with vns3 status.' : '\nEvery step is idempotent: once the cause is fixed, run apply again.';
  return { text: `vns3: ${message}${where}${hint}\n`, json: { type: 'error', kind, message, controller: error instanceof Vns3Error ? error.controller : undefined } };
}

function stopSignal(io: CliIo): { signal: AbortSignal; dispose(): void } {
  if (io.signal) return { signal: io.signal, dispose: () => undefined };
  const controller = new AbortController();
  const stop = (): void => controller.abort(new DOMException('interrupted', 'AbortError'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { signal: controller.signal, dispose: () => (process.off('SIGINT', stop), process.off('SIGTERM', stop)) };
}

/** Runs `vns3` with these arguments; resolves with the exit code (see {@link EXIT}). Never throws. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let args: Args | 'help';
  try {
    args = parse(argv);
  } catch (error) {
    io.stderr.write(`vns3: ${(error as Error).message}\nTry 'vns3 --help'.\n`);
    return EXIT.error;
  }
  if (args === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const env = io.env ?? process.env;
  const colour = io.stdout.isTTY === true && !args.json && env.NO_COLOR === undefined;
  let redact = (text: string): string => text;
  let names = new Map<string, string>();
  const stop = stopSignal(io);
  try {
    const topology = await loadTopology(args.file, { varFiles: args.varFiles, env });
    names = namesByHost(topology);
    redact = createRedactor(topology.secrets);
    const ctx: Context = { args, io, topology, signal: stop.signal, colour, out: (text) => io.stdout.write(redact(text)) };
    if (args.command === 'validate') {
      const n = topology.controllers.length;
      ctx.out(args.json ? `${JSON.stringify({ valid: true, controllers: n, links: topology.peering.links.length })}\n` : `${args.file}: valid (${n} controller(s), ${topology.peering.links.length} link(s)).\n`);
      return EXIT.ok;
    }
    if (args.command === 'plan') return await runPlan(ctx);
    if (args.command === 'apply') return await runApply(ctx);
    return await runStatus(ctx);
  } catch (error) {
    if (stop.signal.aborted && !(error instanceof Vns3TopologyError)) {
      io.stderr.write('vns3: interrupted; every step is idempotent, run the command again to go on.\n');
      return EXIT.interrupted;
    }
    const e = explain(error, names);
    if (args.json) io.stdout.write(redact(`${JSON.stringify(e.json)}\n`));
    io.stderr.write(redact(e.text));
    return EXIT.error;
  } finally {
    stop.dispose();
  }
}
