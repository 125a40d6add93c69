/**
 * Errors and error classification shared by the configuration macros. A macro
 * step that fails is reported with the controller and the step, so that an
 * operator reading one line of a bulk report knows where to look.
 */
import { isOutcomeUnknown, Vns3ApiError, Vns3Error, Vns3ValidationError } from '../client/errors.js';

/** A step of a macro failed on one controller; `cause` is the underlying error. */
export class Vns3StepError extends Vns3Error {
  override readonly controller: string;
  readonly step: string;

  constructor(controller: string, step: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${step} failed on ${controller}: ${reason}`, { controller, cause });
    this.name = 'Vns3StepError';
    this.controller = controller;
    this.step = step;
  }
}

/** Fetching the keyset from a source controller did not produce a keyset. */
export class Vns3KeysetFetchError extends Vns3Error {
  override readonly controller: string;
  readonly source: string;
  readonly attempts: number;

  constructor(init: { controller: string; source: string; attempts: number; reason: string; cause?: unknown }) {
    super(
      `keyset.fetch failed on ${init.controller} from source ${init.source} after ${init.attempts} attempt(s): ${init.reason}. ` +
        `Likely cause: ${init.controller} cannot reach ${init.source} over the underlay (routing, security group or ` +
        `firewall must allow TCP 8000 from this controller to the source), the source has no keyset yet, or the keyset token is wrong.`,
      { controller: init.controller, cause: init.cause },
    );
    this.name = 'Vns3KeysetFetchError';
    this.controller = init.controller;
    this.source = init.source;
    this.attempts = init.attempts;
  }
}

/**
 * Failures a rebooting or briefly overloaded controller produces: no answer,
 * a cut connection, or the web front's 5xx. Auth and TLS failures are not
 * among them: waiting would not fix a wrong password or a wrong pin.
 */
export function isTransientFailure(err: unknown): boolean {
  if (isOutcomeUnknown(err)) return true;
  if (err instanceof Vns3ApiError) return err.status >= 500 && err.status <= 504;
  return false;
}

/** The controller answered with exactly this error message (VNS3 automation compares messages verbatim). */
export function hasApiMessage(err: unknown, message: string): boolean {
  return err instanceof Vns3ApiError && err.apiMessage.trim().toLowerCase() === message.toLowerCase();
}

/** Names the controller and step on an error, unless it already does or is the caller's own abort. */
export function wrapStep(controller: string, step: string, err: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return err;
  if (err instanceof Vns3StepError || err instanceof Vns3KeysetFetchError || err instanceof Vns3ValidationError) return err;
  return new Vns3StepError(controller, step, err);
}
