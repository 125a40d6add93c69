/**
 * One middleware list per client, kept by openapi-fetch itself. `client.use` and `client.raw.use`
 * are the same function, so a middleware sees every request whichever way it was registered. The
 * typed verbs route through openapi-fetch only while the list is non-empty: without middleware
 * they skip the WHATWG Request/Response objects, which cost most of a request's CPU.
 */
import type { Client, Middleware } from 'openapi-fetch';
import { Vns3ValidationError } from './errors.js';

/** The registration half of a client: what `use`/`eject` change and what the verbs ask. */
export interface MiddlewareList {
  /** True while at least one middleware is registered. */
  readonly active: boolean;
  use(...middleware: Middleware[]): void;
  eject(...middleware: Middleware[]): void;
}

/**
 * Takes over `raw.use`/`raw.eject` so that both ways of registering share one list and one
 * count. Order and duplicates behave as in openapi-fetch: `use` appends, `eject` removes the first
 * occurrence of each argument; falsy entries are skipped. An entry without `onRequest`,
 * `onResponse` or `onError` throws `Vns3ValidationError` before anything is registered.
 */
export function shareMiddleware(raw: Pick<Client<{}>, 'use' | 'eject'>): MiddlewareList {
  const register = raw.use.bind(raw);
  const unregister = raw.eject.bind(raw);
  const registered: Middleware[] = [];

  function use(...middleware: Middleware[]): void {
    const accepted = middleware.filter(Boolean);
    for (const m of accepted) {
      if (typeof m !== 'object' || !('onRequest' in m || 'onResponse' in m || 'onError' in m)) {
        throw new Vns3ValidationError('middleware', m, 'must be an object with onRequest, onResponse or onError');
      }
    }
    register(...accepted);
    registered.push(...accepted);
  }

  function eject(...middleware: Middleware[]): void {
    unregister(...middleware);
    for (const m of middleware) {
      const at = registered.indexOf(m);
      if (at !== -1) registered.splice(at, 1);
    }
  }

  raw.use = use;
  raw.eject = eject;
  return {
    get active() {
      return registered.length > 0;
    },
    use,
    eject,
  };
}
