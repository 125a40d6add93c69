/**
 * A ready-made progress printer for scripts: readable lines with elapsed time, and a heartbeat
 * during long waits. (A pino-compatible logger can be passed as `onEvent` directly, and `DEBUG=vns3`
 * prints every event; both live in events.ts, next to `emit`.)
 */
import { debugEnabled, formatEvent, type Vns3Event } from './events.js';

/** How {@link createEventPrinter} prints. */
export interface EventPrinterOptions {
  /** Where lines go; default `console.log`. */
  write?: (line: string) => void;
  /** Also print debug events (every poll, every bulk item); default: when `DEBUG=vns3` is set. */
  debug?: boolean;
  /**
   * After this long without a printed line, print `… still <last step> (N s)`, and again each
   * period, so that a long wait (a reboot, a keyset generation) is never silent. Default 3000; 0 off.
   */
  heartbeatMs?: number;
}

/** A running printer: `onEvent` to pass to the SDK, `stop()` to end its heartbeat. */
export interface EventPrinter {
  onEvent: (event: Vns3Event) => void;
  /** Stops the heartbeat timer (it never keeps the process alive in any case). */
  stop(): void;
}

/**
 * A progress printer for scripts and examples: one readable line per event with the time since it
 * was made, and a heartbeat line with the elapsed time whenever nothing was printed for a while.
 */
export function createEventPrinter(options: EventPrinterOptions = {}): EventPrinter {
  const write = options.write ?? ((line: string) => console.log(line));
  const showDebug = options.debug ?? debugEnabled();
  const heartbeatMs = options.heartbeatMs ?? 3_000;
  const started = performance.now();
  let lastPrinted = started;
  let lastEvent: Vns3Event | undefined;
  let stepStarted = started;

  const onEvent = (event: Vns3Event): void => {
    if (lastEvent?.step !== event.step || lastEvent.controller !== event.controller) stepStarted = performance.now();
    lastEvent = event;
    if (event.level === 'debug' && !showDebug) return;
    lastPrinted = performance.now();
    write(formatEvent(event, lastPrinted - started));
  };
  const timer =
    heartbeatMs > 0
      ? setInterval(() => {
          const now = performance.now();
          if (!lastEvent || now - lastPrinted < heartbeatMs) return;
          lastPrinted = now;
          const waited = ((now - stepStarted) / 1000).toFixed(0);
          write(formatEvent({ controller: lastEvent.controller, step: lastEvent.step, detail: `… still at it (${waited} s in this step)` }, now - started));
        }, Math.max(100, Math.floor(heartbeatMs / 2)))
      : undefined;
  timer?.unref();
  return { onEvent, stop: () => clearInterval(timer) };
}
