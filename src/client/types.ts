import type { Client, ClientPathsWithMethod, FetchResponse, Middleware, ParamsOption, RequestBodyOption } from 'openapi-fetch';

/** Any media type: VNS3 answers JSON, and text for a few endpoints. */
export type AnyMedia = `${string}/${string}`;

/** The methods the typed verbs cover. */
export type Vns3Method = 'get' | 'put' | 'post' | 'delete';

/** Paths of `Paths` that have an operation for `M`. */
export type PathsFor<Paths extends {}, M extends Vns3Method> = ClientPathsWithMethod<Client<Paths, AnyMedia>, M>;

/** The OpenAPI operation object for a path and method. */
export type OperationOf<Paths, P, M extends Vns3Method> = P extends keyof Paths
  ? M extends keyof Paths[P]
    ? Paths[P][M]
    : never
  : never;

/** Per-call controls, on top of the typed `params` and `body`. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Per attempt; defaults to the client's `timeoutMs`. */
  timeoutMs?: number;
  /**
   * GET and PUT are retried by default, POST and DELETE never: `true` opts a
   * call in (only when repeating it is harmless), `false` opts it out.
   */
  retry?: boolean;
  /** Extra headers; credentials are always set by the client. */
  headers?: Record<string, string>;
}

/** `params` and `body` typed from the spec exactly as openapi-fetch types them, plus `CallOptions`. */
export type CallInit<Op> = (Op extends Record<string | number, any> ? ParamsOption<Op> & RequestBodyOption<Op> : {}) &
  CallOptions;

/** Makes a verb's `options` optional when nothing in them is required (no path params, no required body). */
export type InitArgs<I> = {} extends I ? [options?: I] : [options: I];

/** VNS3 wraps every success in `{"response": …}`; callers want what is inside. */
export type Unwrap<T> = T extends { response: infer R } ? R : T;

/** What a typed verb resolves with for an operation: its success body without the `response` wrapper. */
export type ResponseOf<Op> = Op extends Record<string | number, any>
  ? Unwrap<NonNullable<FetchResponse<Op, {}, AnyMedia>['data']>>
  : never;

/** The client's interface for a set of OpenAPI paths (`Vns3Client` is it for the VNS3 spec). */
export interface Vns3ClientFor<Paths extends {}> {
  /** `host:port`, as used in errors and events. */
  readonly host: string;
  /** e.g. `https://127.0.0.1:8443/api`. */
  readonly baseUrl: string;
  /**
   * The openapi-fetch client over the same transport, auth, TLS, timeout and
   * retry. It returns `{ data, error, response }` and does not throw on HTTP
   * errors; network failures throw the SDK's typed errors. Its `use`/`eject`
   * are the client's: one middleware list for both.
   */
  readonly raw: Client<Paths, AnyMedia>;
  get<P extends PathsFor<Paths, 'get'>>(
    path: P,
    ...options: InitArgs<CallInit<OperationOf<Paths, P, 'get'>>>
  ): Promise<ResponseOf<OperationOf<Paths, P, 'get'>>>;
  put<P extends PathsFor<Paths, 'put'>>(
    path: P,
    ...options: InitArgs<CallInit<OperationOf<Paths, P, 'put'>>>
  ): Promise<ResponseOf<OperationOf<Paths, P, 'put'>>>;
  post<P extends PathsFor<Paths, 'post'>>(
    path: P,
    ...options: InitArgs<CallInit<OperationOf<Paths, P, 'post'>>>
  ): Promise<ResponseOf<OperationOf<Paths, P, 'post'>>>;
  delete<P extends PathsFor<Paths, 'delete'>>(
    path: P,
    ...options: InitArgs<CallInit<OperationOf<Paths, P, 'delete'>>>
  ): Promise<ResponseOf<OperationOf<Paths, P, 'delete'>>>;
  /**
   * Registers openapi-fetch middleware for every request of this client (typed verbs and `raw`),
   * each run once per call, before retries; credentials are added below it and never seen.
   * While none is registered the typed verbs build no WHATWG Request/Response. Throws
   * `Vns3ValidationError` for an entry without `onRequest`, `onResponse` or `onError`.
   */
  use(...middleware: Middleware[]): void;
  /** Unregisters middleware registered with `use` (the first occurrence of each). */
  eject(...middleware: Middleware[]): void;
  /** After `PUT /api_password`, the next request must use the new password. */
  setPassword(password: string): void;
  /** Switches to (or renews) API-token auth. */
  setApiToken(token: string): void;
  /** Closes pooled connections; only the dispatcher the client created itself. */
  close(): Promise<void>;
}
