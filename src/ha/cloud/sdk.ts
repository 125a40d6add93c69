/**
 * What the AWS and Azure providers share around their SDK calls: one way to turn an SDK failure
 * into a `CloudApiError` without keeping the SDK's error, one loop that moves routes one at a time
 * past failures, and one event per moved route.
 */
import { throwIfAborted, isAbortError } from '../../abort.js';
import { emit, type Vns3EventHandler } from '../../events.js';
import { CloudApiError, RouteChangeError, type RouteFailure } from '../errors.js';
import type { RouteAddress, RouteChange } from './types.js';

/**
 * Runs `one` for every route, one at a time (cloud APIs throttle writes), continuing past
 * failures so that a failover moves every route it can, then throws `RouteChangeError` listing
 * what failed. An abort stops at once and is rethrown as is.
 */
export async function changeEachRoute(
  routes: readonly RouteAddress[],
  signal: AbortSignal | undefined,
  one: (route: RouteAddress) => Promise<RouteChange>,
): Promise<RouteChange[]> {
  const changes: RouteChange[] = [];
  const failures: RouteFailure[] = [];
  const seen = new Set<string>();
  for (const route of routes) {
    throwIfAborted(signal);
    const key = `${route.tableId}\u0000${route.destination}`;
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      changes.push(await one(route));
    } catch (e) {
      throwIfAborted(signal);
      failures.push({ tableId: route.tableId, destination: route.destination, error: e instanceof Error ? e : new Error(String(e)) });
    }
  }
  if (failures.length > 0) throw new RouteChangeError(changes, failures);
  return changes;
}

/** What a cloud SDK's error says about itself, copied field by field. */
export interface CloudErrorParts {
  code?: string | undefined;
  status?: number | undefined;
  message?: string | undefined;
}

/** The table and route a call is about, for the error message. */
export interface CloudCallWhere {
  tableId?: string;
  destination?: string;
}

/** One SDK call of a provider: failures become `CloudApiError`, aborts stay aborts. */
export type CloudCall = <T>(
  operation: string,
  run: (abortSignal: AbortSignal | undefined) => Promise<T>,
  signal: AbortSignal | undefined,
  where?: CloudCallWhere,
) => Promise<T>;

/**
 * Wraps SDK calls of one cloud so that their failures become `CloudApiError` and aborts stay
 * aborts. Only what `parts` extracts is kept: the SDK error itself never becomes a `cause`,
 * because it holds the signed request (Azure's even the bearer token).
 */
export function cloudCaller(cloud: 'aws' | 'azure', parts: (e: unknown) => CloudErrorParts): CloudCall {
  return async (operation, run, signal, where = {}) => {
    throwIfAborted(signal);
    try {
      return await run(signal);
    } catch (e) {
      throwIfAborted(signal);
      if (isAbortError(e)) throw e;
      const { code, status, message } = parts(e);
      throw new CloudApiError({ cloud, operation, code, status, reason: message ?? String(e), ...where });
    }
  };
}

/**
 * Reports a route that was (or in a dry run would be) moved. Unchanged routes are not reported: a
 * primary re-asserts its routes every check, and one event per route per check would drown the log.
 */
export function reportRouteChange(
  onEvent: Vns3EventHandler | undefined,
  cloud: 'aws' | 'azure',
  /** The private IP of the controller the route now targets. */
  controller: string,
  change: RouteChange,
  dryRun: boolean | undefined,
): RouteChange {
  if (change.action !== 'unchanged') {
    emit(onEvent, {
      controller,
      step: `cloud.route.${change.action}`,
      detail: `${change.tableId} ${change.destination} → ${change.to}${dryRun ? ' (dry run)' : ''}`,
      data: { cloud, ...change, dryRun: dryRun === true },
    });
  }
  return change;
}

/** The cloud SDKs are optional peer dependencies: tells "not installed" from a broken install. */
export function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
