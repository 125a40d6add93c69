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
 * A file an operation answers instead of the JSON envelope (a clientpack download): sent as is with
 * its content type, which the operation's 200 reply in the spec must list.
 */
export class SimFile {
  constructor(
    readonly contentType: string,
    readonly body: string,
  ) {}
}

/** Answers the `response` of the success envelope (or a {@link SimFile}), or throws a SimApiError. */
export type Operation = (ctx: OpContext) => unknown;

/** Operations keyed by `METHOD /path/template` exactly as in spec/vns3.yaml. */
export type OperationTable = Record<string, Operation>;

export const nowS = (): number => Math.floor(Date.now() / 1000);
export const isoOf = (seconds: number): string => new Date(seconds * 1000).toISOString();
