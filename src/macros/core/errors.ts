/**
 * Every error the macros raise, and how they classify the client's errors. Each class carries
 * what a caller needs to act on (the partial bulk result, the last state seen, the step that
 * failed) and a message an operator can read without a stack. Bad input is the client layer's
 * `Vns3ValidationError`, raised before the first request.
 */
import { isOutcomeUnknown, Vns3ApiError, Vns3Error, Vns3ValidationError } from '../../client/index.js';
import type { BulkResult } from './types.js';

function firstLine(error: Error): string {
  const message = error.message || error.name || 'unknown error';
  return message.split('\n')[0] ?? message;
}

/**
 * Raised by `assertBulkOk` (and the macros that must not go on after a partial failure, such as
 * `deployHaPlugin`) when some controllers of a bulk run failed; `result` holds every success and
 * failure, and the message lists each failed controller with its cause.
 */
export class Vns3BulkError extends Vns3Error {
  readonly what: string;
  readonly result: BulkResult<unknown>;

  constructor(what: string, result: BulkResult<unknown>) {
    const total = result.succeeded.length + result.failed.length;
    const lines = result.failed.map((f) => `  ${f.controller} — ${firstLine(f.error)}`);
    super(`${what} failed on ${result.failed.length} of ${total} controllers:\n${lines.join('\n')}`, {
      cause: result.failed[0]?.error,
    });
    this.name = 'Vns3BulkError';
    this.what = what;
    this.result = result;
  }
}

/** What a {@link Vns3WaitTimeoutError} reports. */
export interface Vns3WaitTimeoutInit {
  what: string;
  controller: string;
  timeoutMs: number;
  lastState?: string;
  lastError?: string;
}

/**
 * Raised by every wait (`pollUntil`, `waitForApi`, `waitForKeyset`, the container and image waits)
 * when its `timeoutMs` ran out before the condition held; carries the last state and the last
 * probe error seen. A caller's abort is rethrown as its own reason instead.
 */
export class Vns3WaitTimeoutError extends Vns3Error {
  readonly what: string;
  override readonly controller: string;
  readonly timeoutMs: number;
  readonly lastState?: string;
  readonly lastError?: string;

  constructor(init: Vns3WaitTimeoutInit) {
    const seen: string[] = [];
    if (init.lastState !== undefined) seen.push(`last state: ${init.lastState}`);
    if (init.lastError !== undefined) seen.push(`last error: ${init.lastError}`);
    if (seen.length === 0) seen.push('no probe completed');
    super(`Timed out after ${init.timeoutMs} ms waiting for ${init.what} on ${init.controller} (${seen.join('; ')})`, {
      controller: init.controller,
    });
    this.name = 'Vns3WaitTimeoutError';
    this.what = init.what;
    this.controller = init.controller;
    this.timeoutMs = init.timeoutMs;
    this.lastState = init.lastState;
    this.lastError = init.lastError;
  }
}

/** One direction of a link between two mesh members, as the `from` controller reports it. */
export interface MeshLink {
  /** The reporting controller's name (`controller_name`, or its host). */
  from: string;
  host: string;
  fromId: number;
  toId: number;
  /** Address `from` uses to reach the peer; empty when the peer is not configured. */
  address: string;
  reachable: boolean;
}

/** One look at the whole mesh: every link, and one line per problem. */
export interface MeshSnapshot {
  links: MeshLink[];
  /** One line per problem: a link down, a peer not configured, a controller not answering. */
  problems: string[];
}

/**
 * Raised by `waitForMesh` when the mesh did not come up in time; `problems` names every link still
 * down (e.g. `vns3-1 (id 1) -> id 3 at 10.3.1.10: not reachable`).
 */
export class Vns3MeshNotReadyError extends Vns3WaitTimeoutError {
  readonly problems: string[];
  readonly links: MeshLink[];

  constructor(timeoutMs: number, snapshot: MeshSnapshot | undefined, lastError?: string) {
    const problems = snapshot?.problems ?? [];
    super({ what: 'peering mesh', controller: '*', timeoutMs, lastState: problems.join('; ') || undefined, lastError });
    this.name = 'Vns3MeshNotReadyError';
    this.problems = problems;
    this.links = snapshot?.links ?? [];
    const detail = problems.length > 0 ? problems.map((p) => `  ${p}`).join('\n') : '  no complete probe of the mesh';
    this.message = `Peering mesh not up after ${timeoutMs} ms:\n${detail}`;
  }
}

/**
 * Raised by the configuration macros (`setupController`, the license and keyset steps, the
 * credential macros) when a step failed on a controller; names the controller and the step, and
 * `cause` is the underlying error.
 */
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

/**
 * Raised by `fetchKeysetFromSource` / `fetchKeysets` when every attempt to fetch the keyset from
 * the source ended without one, or the fetch ran out of time; the message names the likely causes.
 */
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
 * Raised by `ensureImage` (and `deployHaPlugin`) when an image import failed on the controller, or
 * an earlier failed import is in the way and `replaceFailed` was not given; `statusMessage` is the
 * controller's own reason.
 */
export class Vns3ImageImportError extends Vns3Error {
  readonly image: string;
  readonly statusMessage: string;

  constructor(controller: string, image: string, statusMessage: string, hint = '') {
    super(`Import of image ${image} failed on ${controller}: ${statusMessage}${hint}`, { controller });
    this.name = 'Vns3ImageImportError';
    this.image = image;
    this.statusMessage = statusMessage;
  }
}

/**
 * Raised by `ensureContainer` (and `deployHaPlugin`) when a container of that name exists but
 * differs from the desired one and `replace` was not given. Names what differs, never values.
 */
export class Vns3ContainerConflictError extends Vns3Error {
  readonly container: string;
  readonly differences: string[];

  constructor(controller: string, container: string, differences: string[]) {
    super(`Container ${container} on ${controller} differs from the desired one in ${differences.join('; ')} (pass replace: true to replace it)`, { controller });
    this.name = 'Vns3ContainerConflictError';
    this.container = container;
    this.differences = differences;
  }
}

/**
 * Failures a rebooting or briefly overloaded controller produces: no answer, a cut connection, or
 * the web front's 5xx. Auth and TLS failures are not among them: waiting would not fix a wrong
 * password or a wrong pin.
 */
export function isTransientFailure(error: unknown): boolean {
  if (isOutcomeUnknown(error)) return true;
  if (error instanceof Vns3ApiError) return error.status >= 500 && error.status <= 504;
  return false;
}

/** The controller answered with exactly this error message (VNS3 automation compares messages verbatim). */
export function hasApiMessage(error: unknown, message: string): boolean {
  return error instanceof Vns3ApiError && error.apiMessage.trim().toLowerCase() === message.toLowerCase();
}

/** Names the controller and step on an error, unless it already does or is the caller's own abort. */
export function wrapStep(controller: string, step: string, error: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return error;
  if (error instanceof Vns3StepError || error instanceof Vns3KeysetFetchError || error instanceof Vns3ValidationError) return error;
  return new Vns3StepError(controller, step, error);
}
