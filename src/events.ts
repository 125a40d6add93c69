/**
 * Structured progress events. Macros, the HA agent and the client report
 * through an optional `onEvent` callback instead of printing, so that callers
 * decide how (and whether) to show progress. Events never carry secrets.
 */
export interface Vns3Event {
  /** The controller the event is about (its `host:port`), or `*` for a whole run. */
  controller: string;
  /** A short machine-readable step name, e.g. `license.upload`, `keyset.wait`. */
  step: string;
  /** What happened, for humans; never contains a password, token or license text. */
  detail?: string;
  /** `info` unless said otherwise. */
  level?: 'debug' | 'info' | 'warn' | 'error';
  /** Extra structured data (counts, ids, durations); never secrets. */
  data?: Record<string, unknown>;
}

/**
 * What the SDK needs of a logger: pino's (and bunyan's) `level(object, message)` methods. Pass one
 * as `onEvent` (`onEvent: pino()`): each event is logged at its level, `detail` as the message and
 * `controller`, `step` and `data` as the object.
 */
export interface Vns3Logger {
  debug(object: Record<string, unknown>, message?: string): unknown;
  info(object: Record<string, unknown>, message?: string): unknown;
  warn(object: Record<string, unknown>, message?: string): unknown;
  error(object: Record<string, unknown>, message?: string): unknown;
}

/** Sends one event to a logger at its level. */
export function logEvent(logger: Vns3Logger, event: Vns3Event): void {
  const { level = 'info', detail, data, controller, step } = event;
  logger[level]({ controller, step, ...(data === undefined ? {} : { data }) }, detail);
}

/**
 * Whether the `DEBUG` environment variable asks for the SDK's events, as the `debug` package reads
 * it: a comma- or space-separated list containing `vns3`, `vns3:*` or `*` (a `-vns3` entry turns it
 * off). Read at every event (no module state), so a program may switch it at run time.
 */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.DEBUG;
  if (!value) return false;
  const names = value.split(/[\s,]+/).filter(Boolean);
  return !names.includes('-vns3') && names.some((n) => n === '*' || n === 'vns3' || n.startsWith('vns3:'));
}

/** One event as a line of text: `+12.3s controller step: detail`. */
export function formatEvent(event: Vns3Event, elapsedMs?: number): string {
  const time = elapsedMs === undefined ? new Date().toISOString().slice(11, 23) : `+${(elapsedMs / 1000).toFixed(1).padStart(5)}s`;
  const level = event.level === undefined || event.level === 'info' ? '' : ` ${event.level.toUpperCase()}`;
  return `${time}${level}  ${event.controller.padEnd(21)} ${event.step.padEnd(24)} ${event.detail ?? ''}`.trimEnd();
}

/** A function that receives progress events. */
export type Vns3EventCallback = (event: Vns3Event) => void;

/**
 * Where progress events go: a callback, or a pino-compatible logger (`onEvent: pino()`), which logs
 * each event at its level. Whatever it throws is swallowed, so it cannot break the operation it watches.
 */
export type Vns3EventHandler = Vns3EventCallback | Vns3Logger;

/**
 * Delivers an event to the handler if there is one; a throwing handler never breaks the caller's
 * operation. With `DEBUG=vns3` in the environment, every event (debug ones too) is also printed to
 * stderr, with or without a handler.
 */
export function emit(handler: Vns3EventHandler | undefined, event: Vns3Event): void {
  if (debugEnabled()) process.stderr.write(`vns3 ${formatEvent(event)}\n`);
  if (!handler) return;
  try {
    if (typeof handler === 'function') handler(event);
    else logEvent(handler, event);
  } catch {
    // A logging callback must not be able to abort a half-done configuration.
  }
}
