/**
 * `vns3-sdk/client`: the whole client layer — `createClient`, its errors and options, and what the
 * root entry leaves out: the address and fingerprint helpers, the retry predicates and the types
 * that derive a call's parameters and answer from the generated `paths`. The other layers of the
 * SDK take the client from here too.
 *
 * @packageDocumentation
 * @module vns3-sdk/client
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
