import { setMaxListeners } from 'node:events';

/**
 * One attempt's signal: aborted by its own timeout or by the caller's signal. A cleared timer and
 * one listener instead of AbortSignal.timeout + AbortSignal.any, whose weak references and
 * 30-second timers outlive thousands of short requests.
 */
export class AttemptSignal {
  readonly signal: AbortSignal;
  timedOut = false;
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onOuterAbort: (() => void) | undefined;

  constructor(
    timeoutMs: number,
    private readonly outer: AbortSignal | undefined,
  ) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, timeoutMs);
    // Like AbortSignal.timeout: the timer alone does not keep the process alive.
    this.timer.unref();
    if (outer) {
      if (outer.aborted) {
        this.controller.abort(outer.reason);
      } else {
        // One caller signal commonly spans many concurrent requests (a macro across 64 controllers);
        // every listener is removed when its attempt ends, so Node's leak warning at 11 is noise.
        setMaxListeners(0, outer);
        this.onOuterAbort = () => this.controller.abort(outer.reason);
        outer.addEventListener('abort', this.onOuterAbort, { once: true });
      }
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (this.onOuterAbort) this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}

/** The caller's abort: the client-wide signal, the per-call one, or both (only then AbortSignal.any). */
export function combineSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  return AbortSignal.any([a, b]);
}
