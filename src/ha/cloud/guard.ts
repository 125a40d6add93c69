/**
 * A deadline on every cloud call. The cloud SDKs take an abort signal but a call can still hang
 * (a TCP connection that never answers, a credential provider stuck on the instance metadata
 * service), and the agent's checks never overlap: one hung call would stop every later check. So
 * each call races its own deadline and, when the time is up, ends with a `CloudApiError` (code
 * `Timeout`) the check records; the next check runs on time and tries again.
 */
import { Deadline, raceAbort } from '../../abort.js';
import { CloudApiError } from '../errors.js';
import type { CloudCallOptions, CloudRouteProvider, RouteAddress } from './types.js';

/**
 * Wraps `provider` so that each call ends within `timeoutMs` (`pointRoutesAt`: per route, as it
 * writes them one at a time), or with the caller's abort. The overlay provider is returned as is.
 */
export function withCloudDeadlines(provider: CloudRouteProvider, timeoutMs: number): CloudRouteProvider {
  const cloud = provider.cloud;
  if (cloud === 'overlay') return provider;
  const bounded = async <T>(operation: string, ms: number, signal: AbortSignal | undefined, run: (s: AbortSignal) => Promise<T>): Promise<T> => {
    const deadline = new Deadline(ms, { signal });
    try {
      return await raceAbort(run(deadline.signal), deadline.signal);
    } catch (e) {
      if (deadline.timedOut) throw new CloudApiError({ cloud, operation, code: 'Timeout', reason: `no answer within ${ms} ms` });
      throw e;
    } finally {
      deadline.dispose();
    }
  };
  return {
    cloud,
    resolve: (ip: string, o: CloudCallOptions = {}) => bounded('resolve', timeoutMs, o.signal, (signal) => provider.resolve(ip, { ...o, signal })),
    routesTargeting: (who, o: CloudCallOptions = {}) => bounded('routesTargeting', timeoutMs, o.signal, (signal) => provider.routesTargeting(who, { ...o, signal })),
    instanceState: (who, o: CloudCallOptions = {}) => bounded('instanceState', timeoutMs, o.signal, (signal) => provider.instanceState(who, { ...o, signal })),
    pointRoutesAt: (routes: readonly RouteAddress[], to, o = {}) =>
      bounded('pointRoutesAt', timeoutMs * Math.max(1, routes.length), o.signal, (signal) => provider.pointRoutesAt(routes, to, { ...o, signal })),
  };
}
