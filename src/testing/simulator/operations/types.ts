import type { SimController } from '../controller.js';

export interface OpContext {
  ctl: SimController;
  /** Path template parameters, e.g. `{ route_id: '3' }`. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (already validated against the spec), or the text of a text/plain body. */
  body: unknown;
  /** The body byte for byte: a text/plain body may be a binary file (`PUT /snapshots/running_config`). */
  rawBody: Buffer;
  /** The client's address, as a controller records it (`created_ip`, `last_accessed_ip`). */
  remoteAddress: string;
}

/**
 * An answer other than `200 {"response": …}`: another 2xx status the spec gives (`201` for what the
 * reference calls Created), or a file sent as it is (a snapshot download).
 */
export class OpReply {
  constructor(
    readonly status: number,
    readonly response: unknown,
    readonly file?: { contentType: string; bytes: Buffer },
  ) {}
}

/** `201 {"response": …}`. */
export const created = (response: unknown): OpReply => new OpReply(201, response);
/** `200` with the bytes of a file, no envelope. */
export const fileReply = (contentType: string, bytes: Buffer): OpReply => new OpReply(200, undefined, { contentType, bytes });

/** Answers the `response` of the success envelope (or an {@link OpReply}), or throws a SimApiError. */
export type Operation = (ctx: OpContext) => unknown;

/** Operations keyed by `METHOD /path/template` exactly as in spec/vns3.yaml. */
export type OperationTable = Record<string, Operation>;

export const nowS = (): number => Math.floor(Date.now() / 1000);
export const isoOf = (seconds: number): string => new Date(seconds * 1000).toISOString();
