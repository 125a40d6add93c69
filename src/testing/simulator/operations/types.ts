import type { SimController } from '../controller.js';

export interface OpContext {
  ctl: SimController;
  /** Path template parameters, e.g. `{ route_id: '3' }`. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (already validated against the spec), or the text of a text/plain body. */
  body: unknown;
}

/**
 * A success other than `200 {"response": …}`: another 2xx status (a create answers 201), or a
 * download (`file`: its text and content type, sent as is, outside the envelope).
 */
export class SimReply {
  constructor(
    readonly status: number,
    readonly response: unknown,
    readonly file?: { contentType: string; text: string },
  ) {}
}

/** Answers the `response` of the success envelope (or a {@link SimReply}), or throws a SimApiError. */
export type Operation = (ctx: OpContext) => unknown;

/** Operations keyed by `METHOD /path/template` exactly as in spec/vns3.yaml. */
export type OperationTable = Record<string, Operation>;

export const nowS = (): number => Math.floor(Date.now() / 1000);
export const isoOf = (seconds: number): string => new Date(seconds * 1000).toISOString();
