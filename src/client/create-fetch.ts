import { readBytes, relativePath, send, type CallSettings, type ResponseHeaders, type TransportContext } from './send.js';

/** A WHATWG fetch as openapi-fetch calls it. */
export type FetchFn = (request: Request) => Promise<Response>;

/** Statuses whose Response must be built without a body (the constructor throws otherwise). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * The fetch given to openapi-fetch: a Request in, `send`'s transport (auth, timeout, retry, typed
 * errors), a Response out. Only requests that go through openapi-fetch (`client.raw`, and the typed
 * verbs while middleware is registered) pay for these WHATWG objects. Node's own Request and
 * Response classes, not undici's: middleware builds them with the globals, and openapi-fetch checks
 * what middleware returns with `instanceof` against the globals.
 */
export function createFetch(ctx: TransportContext, call: CallSettings = {}): FetchFn {
  return async (request: Request) => {
    const headers: Record<string, string> = {};
    // Headers iterates lower-case names with repeated values already joined.
    for (const [name, value] of request.headers) headers[name] = value;
    const answer = await send(
      ctx,
      call,
      {
        method: request.method.toUpperCase(),
        url: request.url,
        path: relativePath(new URL(request.url).pathname, ctx.basePath),
        headers,
        body: request.body ? new Uint8Array(await request.arrayBuffer()) : undefined,
        signal: request.signal,
      },
      readBytes,
    );
    return new Response(NULL_BODY_STATUSES.has(answer.status) ? null : answer.body, {
      status: answer.status,
      statusText: answer.statusText,
      headers: responseHeaders(answer.headers),
    });
  };
}

function responseHeaders(raw: ResponseHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}
