/**
 * What the AWS and Azure providers share around their SDK calls: one way to turn an SDK failure
 * into a `CloudApiError` without keeping the SDK's error, one loop that moves routes (tables side
 * by side, routes of a table one at a time) past failures, and one event per moved route.
 */
import { throwIfAborted, isAbortError } from '../../abort.js';
import { emit, type Vns3EventHandler } from '../../events.js';
import { CloudApiError, RouteChangeError, type RouteFailure } from '../errors.js';
import type { RouteAddress, RouteChange } from './types.js';

/** Route tables changed at once during a failover; within one table, one route at a time. */
export const TABLES_AT_ONCE = 4;

/**
 * Runs `one` for every route, continuing past failures so that a failover moves every route it
 * can, then throws `RouteChangeError` listing what failed. Up to {@link TABLES_AT_ONCE} route
 * tables at once (a failover's time is mostly round trips), but one route at a time within a table:
 * Azure refuses concurrent writes to one table, and cloud APIs throttle bursts. Changes come back
 * in the order of `routes`. An abort stops at once and is rethrown as is.
 */
export async function changeEachRoute(
  routes: readonly RouteAddress[],
  signal: AbortSignal | undefined,
  one: (route: RouteAddress) => Promise<RouteChange>,
): Promise<RouteChange[]> {
  const byTable = new Map<string, { route: RouteAddress; index: number }[]>();
  const seen = new Set<string>();
  routes.forEach((route, index) => {
    const key = `${route.tableId}\u0000${route.destination}`;
    if (seen.has(key)) return;
    seen.add(key);
    byTable.set(route.tableId, [...(byTable.get(route.tableId) ?? []), { route, index }]);
  });
  const changes: { index: number; change: RouteChange }[] = [];
  const failures: { index: number; failure: RouteFailure }[] = [];
  const queue = [...byTable.values()];
  const worker = async (): Promise<void> => {
    for (let table = queue.shift(); table; table = queue.shift()) {
      for (const { route, index } of table) {
        throwIfAborted(signal);
        try {
          changes.push({ index, change: await one(route) });
        } catch (e) {
          throwIfAborted(signal);
          failures.push({ index, failure: { tableId: route.tableId, destination: route.destination, error: e instanceof Error ? e : new Error(String(e)) } });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(TABLES_AT_ONCE, queue.length) }, worker));
  const ordered = changes.sort((a, b) => a.index - b.index).map((c) => c.change);
  if (failures.length > 0) throw new RouteChangeError(ordered, failures.sort((a, b) => a.index - b.index).map((f) => f.failure));
  return ordered;
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
