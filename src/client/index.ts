/**
 * The client layer's barrel: what the other layers (macros, HA, testing) and the root entry take
 * from it. The root `src/index.ts` picks the public names from here.
 */
export { createClient, type Vns3Client, type Vns3ClientOptions } from './create-client.js';
export type { RequestEvent } from './send.js';
export type { RetryOptions } from './retry.js';
export { isIdempotent, isRetryableError, isRetryableStatus } from './retry.js';
export type { Middleware } from 'openapi-fetch';
export type {
  CallInit,
  CallOptions,
  OperationOf,
  PathsFor,
  ResponseOf,
  Unwrap,
  Vns3ClientFor,
  AnyMedia,
  InitArgs,
  Vns3Method,
} from './types.js';
export {
  isAbortError,
  isOutcomeUnknown,
  isTlsFailure,
  Vns3ApiError,
  Vns3ConnectionError,
  Vns3Error,
  Vns3TimeoutError,
  Vns3ValidationError,
  type Vns3ErrorOptions,
  type Vns3ApiErrorInit,
  type Vns3RequestErrorInit,
} from './errors.js';
export { normalizeFingerprint, FINGERPRINT_MISMATCH } from './dispatcher.js';
export { parseControllerAddress, DEFAULT_PORT, type ControllerAddress } from './address.js';
