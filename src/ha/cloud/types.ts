/**
 * The provider-neutral terms in which the HA engine talks to a cloud: a controller as the cloud
 * sees it, a route in one of its route tables, a change to one, and the contract every route
 * provider (AWS, Azure, overlay, or a user's own) fulfils.
 */

/** A VNS3 controller as the cloud sees it. */
export interface ControllerRef {
  privateIp: string;
  /** AWS instance id, or the Azure VM resource id. */
  instanceId?: string;
  /** AWS ENI id, or the Azure NIC resource id. */
  networkInterfaceId?: string;
  name?: string;
}

/** One route of a cloud route table. */
export interface CloudRoute {
  /** AWS route table id, or the Azure route table resource id. */
  tableId: string;
  tableName?: string;
  destination: string;
  /** Instance id, ENI id or next-hop IP. */
  target: string;
}

/** What pointing one route at a controller did (or, in a dry run, would do). */
export interface RouteChange {
  tableId: string;
  destination: string;
  action: 'replaced' | 'created' | 'unchanged';
  /** The previous target, when there was a route. */
  from?: string;
  to: string;
}

/** The cloud's view of a controller's machine, mapped onto one vocabulary for every cloud. */
export type InstanceState = 'running' | 'stopped' | 'stopping' | 'pending' | 'terminated' | 'deallocated' | 'unknown';

/** Where a route lives: its table and its destination. */
export type RouteAddress = Pick<CloudRoute, 'tableId' | 'destination'>;

/** The options of every provider call: the caller's abort. */
export interface CloudCallOptions {
  signal?: AbortSignal | undefined;
}

/** How the HA agent reads and moves a cloud's routes; implement it to support another cloud. */
export interface CloudRouteProvider {
  readonly cloud: 'aws' | 'azure' | 'overlay';
  /** Resolve a controller from its private IP (AWS: instance id + primary ENI via DescribeInstances filter private-ip-address; Azure: NIC with that IP and its VM). Cached by the caller. */
  resolve(privateIp: string, options?: CloudCallOptions): Promise<ControllerRef>;
  /** Routes in scope (all tables of the VPC / tags / resource group) whose target is `who`. */
  routesTargeting(who: ControllerRef, options?: CloudCallOptions): Promise<CloudRoute[]>;
  /** Make each given route (tableId + destination) target `to`: unchanged if it already does, replace if it targets something else, create if it vanished. Idempotent. dryRun: compute, write nothing. */
  pointRoutesAt(routes: readonly RouteAddress[], to: ControllerRef, options?: CloudCallOptions & { dryRun?: boolean | undefined }): Promise<RouteChange[]>;
  /** The cloud's view of the instance (AWS instanceState.name; Azure VM power state from instanceView). */
  instanceState(who: ControllerRef, options?: CloudCallOptions): Promise<InstanceState>;
}
