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

/** Receives progress events; whatever it throws is swallowed, so it cannot break the operation it watches. */
export type Vns3EventHandler = (event: Vns3Event) => void;

/** Calls the handler if there is one; a throwing handler never breaks the caller's operation. */
export function emit(handler: Vns3EventHandler | undefined, event: Vns3Event): void {
  if (!handler) return;
  try {
    handler(event);
  } catch {
    // A logging callback must not be able to abort a half-done configuration.
  }
}
