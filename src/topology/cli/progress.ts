/**
 * Live progress of `vns3 apply`. Not at a TTY (CI logs, pipes): one plain timestamped line per
 * event, and a heartbeat line with the elapsed time whenever a controller is quiet in a wait (a
 * reboot, a keyset job, an image import) — so a log never looks hung. At a TTY: the same lines,
 * plus a spinner line redrawn in place naming each controller still busy and for how long.
 * With `--json`: every event as one NDJSON line instead.
 */
import type { Vns3Event } from '../../events.js';

/** Where progress goes and how. */
export interface ProgressOptions {
  write: (text: string) => void;
  tty: boolean;
  json: boolean;
  verbose: boolean;
  colour: boolean;
  /** host → controller name, so lines name controllers as the file does. */
  names: ReadonlyMap<string, string>;
  /** Quiet time after which a heartbeat is printed; default 5000 ms. */
  heartbeatMs?: number;
}

/** A running progress display. */
export interface Progress {
  onEvent: (event: Vns3Event) => void;
  /** Prints a line of the command's own (a phase, the plan) above the spinner. */
  line: (text: string) => void;
  /** Stops the spinner and heartbeats until `resume()` (while a question is asked). */
  pause: () => void;
  resume: () => void;
  stop: () => void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const WAITING = /reboot|keyset|wait|image|plugins|license\.accept|api/;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** Starts the display; `stop()` ends its timer (which never keeps the process alive). */
export function createProgress(options: ProgressOptions): Progress {
  const { write, tty, json, verbose, colour, names } = options;
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const started = performance.now();
  const busy = new Map<string, { step: string; since: number; lastLine: number }>();
  let spinnerShown = false;
  let frame = 0;
  const dim = (s: string): string => (colour ? `\x1b[2m${s}\x1b[22m` : s);
  const warn = (s: string): string => (colour ? `\x1b[33m${s}\x1b[39m` : s);
  const bad = (s: string): string => (colour ? `\x1b[31m${s}\x1b[39m` : s);

  const clearSpinner = (): void => {
    if (spinnerShown) write('\r\x1b[K');
    spinnerShown = false;
  };
  const out = (text: string): void => {
    clearSpinner();
    write(`${text}\n`);
  };
  const stamp = (): string => `${new Date().toISOString().slice(11, 19)}Z +${seconds(performance.now() - started).padStart(6)}`;
  const nameOf = (controller: string): string => names.get(controller) ?? controller;

  const onEvent = (event: Vns3Event): void => {
    const now = performance.now();
    const who = nameOf(event.controller);
    if (json) {
      write(`${JSON.stringify({ type: 'event', time: new Date().toISOString(), elapsedMs: Math.round(now - started), controller: who, host: event.controller, step: event.step, level: event.level ?? 'info', detail: event.detail, data: event.data })}\n`);
      return;
    }
    // A new phase starts when the last one is over for every controller.
    if (event.step === 'topology.phase') busy.clear();
    else if (event.controller !== '*') {
      const prev = busy.get(who);
      busy.set(who, { step: event.step, since: prev?.step === event.step ? prev.since : now, lastLine: now });
    }
    if (event.level === 'debug' && !verbose) return;
    const level = event.level === 'warn' ? warn(' WARN') : event.level === 'error' ? bad(' ERROR') : '';
    out(`${dim(stamp())}${level}  ${who.padEnd(10)} ${event.step.padEnd(20)} ${event.detail ?? ''}`.trimEnd());
  };

  const tick = (): void => {
    const now = performance.now();
    if (tty) {
      const waiting = [...busy.entries()].map(([who, b]) => `${who} ${b.step} ${seconds(now - b.since)}`);
      write(`\r\x1b[K${SPINNER[frame++ % SPINNER.length]} ${seconds(now - started)}  ${waiting.join(' · ')}`.slice(0, 200));
      spinnerShown = true;
      return;
    }
    for (const [who, b] of busy) {
      if (now - b.lastLine < heartbeatMs || !WAITING.test(b.step)) continue;
      b.lastLine = now;
      out(`${stamp()}  ${who.padEnd(10)} ${b.step.padEnd(20)} … still waiting (${seconds(now - b.since)} in this step)`);
    }
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const resume = (): void => {
    if (json || timer) return;
    timer = setInterval(tick, tty ? 100 : Math.max(100, Math.floor(heartbeatMs / 5)));
    timer.unref();
  };
  const pause = (): void => {
    clearInterval(timer);
    timer = undefined;
    clearSpinner();
  };
  resume();
  return { onEvent, line: (text) => (json ? undefined : out(text)), pause, resume, stop: pause };
}
