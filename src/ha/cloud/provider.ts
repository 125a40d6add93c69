import { isAbortError, Vns3Error } from '../../client/errors.js';
import { emit, type Vns3EventHandler } from '../../events.js';

/** A VNS3 controller as the cloud sees it. */
export interface ControllerRef {
  privateIp: string;
  /** AWS instance id, or the Azure VM resource id. */
  instanceId?: string;
  /** AWS ENI id, or the Azure NIC resource id. */
  networkInterfaceId?: string;
  name?: string;
}

export interface CloudRoute {
  /** AWS route table id, or the Azure route table resource id. */
  tableId: string;
  tableName?: string;
  destination: string;
  /** Instance id, ENI id or next-hop IP. */
  target: string;
}

export interface RouteChange {
  tableId: string;
  destination: string;
  action: 'replaced' | 'created' | 'unchanged';
  /** The previous target, when there was a route. */
  from?: string;
  to: string;
}

export type InstanceState =
  | 'running'
  | 'stopped'
  | 'stopping'
  | 'pending'
  | 'terminated'
  | 'deallocated'
  | 'unknown';

export interface CloudRouteProvider {
  readonly cloud: 'aws' | 'azure' | 'overlay';
  /** Resolve a controller from its private IP (AWS: instance id + primary ENI via DescribeInstances filter private-ip-address; Azure: NIC with that IP and its VM). Cached by the caller. */
  resolve(privateIp: string, opts?: { signal?: AbortSignal }): Promise<ControllerRef>;
  /** Routes in scope (all tables of the VPC / tags / resource group) whose target is `who`. */
  routesTargeting(who: ControllerRef, opts?: { signal?: AbortSignal }): Promise<CloudRoute[]>;
  /** Make each given route (tableId + destination) target `to`: unchanged if it already does, replace if it targets something else, create if it vanished. Idempotent. dryRun: compute, write nothing. */
  pointRoutesAt(
    routes: readonly Pick<CloudRoute, 'tableId' | 'destination'>[],
    to: ControllerRef,
    opts?: { signal?: AbortSignal; dryRun?: boolean },
  ): Promise<RouteChange[]>;
  /** The cloud's view of the instance (AWS instanceState.name; Azure VM power state from instanceView). */
  instanceState(who: ControllerRef, opts?: { signal?: AbortSignal }): Promise<InstanceState>;
}

export interface CloudApiErrorInit {
  cloud: 'aws' | 'azure';
  /** The SDK operation, e.g. `ReplaceRoute` or `routes.createOrUpdate`. */
  operation: string;
  /** The cloud's error code (`InvalidRoute.NotFound`, `ResourceNotFound` …). */
  code?: string;
  status?: number;
  /** The cloud's message; cloud messages carry no credentials of ours. */
  reason: string;
  tableId?: string;
  destination?: string;
}

/**
 * A cloud API call failed. The SDK's own error is deliberately not kept as
 * `cause`: it holds the signed request, whose headers must not reach logs.
 */
export class CloudApiError extends Vns3Error {
  readonly cloud: 'aws' | 'azure';
  readonly operation: string;
  readonly code?: string;
  readonly status?: number;
  readonly tableId?: string;
  readonly destination?: string;

  constructor(init: CloudApiErrorInit) {
    const where = [init.tableId && `table ${init.tableId}`, init.destination && `route ${init.destination}`]
      .filter(Boolean)
      .join(', ');
    const code = init.code ? `${init.code}: ` : '';
    super(`${init.cloud} ${init.operation}${where ? ` (${where})` : ''} failed: ${code}${init.reason}`);
    this.name = 'CloudApiError';
    this.cloud = init.cloud;
    this.operation = init.operation;
    if (init.code !== undefined) this.code = init.code;
    if (init.status !== undefined) this.status = init.status;
    if (init.tableId !== undefined) this.tableId = init.tableId;
    if (init.destination !== undefined) this.destination = init.destination;
  }
}

export interface RouteFailure {
  tableId: string;
  destination: string;
  error: Error;
}

/**
 * Some routes could not be pointed at the new target. The routes that were
 * handled are in `changes`, so that a failover can report (and retry) exactly
 * what is left.
 */
export class RouteChangeError extends Vns3Error {
  readonly changes: RouteChange[];
  readonly failures: RouteFailure[];

  constructor(changes: RouteChange[], failures: RouteFailure[]) {
    const list = failures.map((f) => `${f.tableId} ${f.destination}: ${f.error.message}`).join('; ');
    super(`${failures.length} of ${changes.length + failures.length} route(s) could not be updated: ${list}`);
    this.name = 'RouteChangeError';
    this.changes = changes;
    this.failures = failures;
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Runs `one` for every route, one at a time (cloud APIs throttle writes),
 * continuing past failures so that a failover moves every route it can. An
 * abort stops at once and is rethrown as is.
 */
export async function changeEachRoute(
  routes: readonly Pick<CloudRoute, 'tableId' | 'destination'>[],
  signal: AbortSignal | undefined,
  one: (route: Pick<CloudRoute, 'tableId' | 'destination'>) => Promise<RouteChange>,
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
      failures.push({
        tableId: route.tableId,
        destination: route.destination,
        error: e instanceof Error ? e : new Error(String(e)),
      });
    }
  }
  if (failures.length > 0) throw new RouteChangeError(changes, failures);
  return changes;
}

/** What a cloud SDK's error says about itself, copied field by field. */
export interface CloudErrorParts {
  code?: string;
  status?: number;
  message?: string;
}

/** The table and route a call is about, for the error message. */
export interface CloudCallWhere {
  tableId?: string;
  destination?: string;
}

export type CloudCall = <T>(
  operation: string,
  run: (abortSignal: AbortSignal | undefined) => Promise<T>,
  signal: AbortSignal | undefined,
  where?: CloudCallWhere,
) => Promise<T>;

/**
 * Wraps SDK calls of one cloud so that their failures become `CloudApiError`
 * and aborts stay aborts. Only what `parts` extracts is kept: the SDK error
 * itself never becomes a `cause`, because it holds the signed request (Azure's
 * even the bearer token).
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
      throw new CloudApiError({
        cloud,
        operation,
        ...(code !== undefined ? { code } : {}),
        ...(status !== undefined ? { status } : {}),
        reason: message ?? String(e),
        ...where,
      });
    }
  };
}

/**
 * Reports a route that was (or in a dry run would be) moved. Unchanged routes
 * are not reported: a primary re-asserts its routes every check, and one event
 * per route per check would drown the log.
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
