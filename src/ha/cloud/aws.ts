// `@aws-sdk/client-ec2` is an optional peer dependency: only type imports
// here (erased at build), the module itself is loaded on first use.
import type { EC2Client, EC2ClientConfig, Filter, Instance, RouteTable } from '@aws-sdk/client-ec2';
import { Vns3Error, Vns3ValidationError } from '../../client/index.js';
import type { Vns3EventHandler } from '../../events.js';
import { CloudApiError } from '../errors.js';
import { destinationParam, LIVE_STATES, routeDestination, routeTargetId, STATES, tagName, targets } from './aws-routes.js';
import { changeEachRoute, cloudCaller, isModuleNotFound, reportRouteChange, type CloudErrorParts } from './sdk.js';
import type { CloudCallOptions, CloudRoute, CloudRouteProvider, ControllerRef, InstanceState, RouteAddress, RouteChange } from './types.js';

type Ec2Module = typeof import('@aws-sdk/client-ec2');

/** How {@link createAwsRouteProvider} reaches EC2 and which route tables it may touch. */
export interface AwsRouteProviderOptions {
  region: string;
  /** Scope: the route tables of this VPC. With neither vpcId nor routeTableTags, the controller's own VPC. */
  vpcId?: string | undefined;
  /** Scope: only route tables carrying all these tags. */
  routeTableTags?: Record<string, string> | undefined;
  /** e.g. the EC2 emulator of `vns3-sdk/testing`, or a VPC endpoint. */
  endpoint?: string | undefined;
  /** Default: the AWS SDK's credential chain (instance role on a controller). */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>) | undefined;
  /** Bring your own configured client (an `EC2Client`); region/endpoint/credentials are then ignored. */
  ec2Client?: Ec2ClientLike | undefined;
  /** SDK attempts per call (default: the SDK's, 3). */
  maxAttempts?: number | undefined;
  onEvent?: Vns3EventHandler | undefined;
}

/**
 * AWS credentials, or (as a function) a provider of them: structurally the AWS SDK's
 * `AwsCredentialIdentity`, declared here so that the published types do not need the optional
 * `@aws-sdk/client-ec2` installed.
 */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}

/** An `EC2Client` of `@aws-sdk/client-ec2`, declared structurally (see {@link AwsCredentials}). */
export interface Ec2ClientLike {
  send(command: never, options?: never): Promise<unknown>;
}

const MISSING_SDK = 'The AWS provider needs @aws-sdk/client-ec2: npm install @aws-sdk/client-ec2';

async function loadEc2(): Promise<Ec2Module> {
  try {
    return await import('@aws-sdk/client-ec2');
  } catch (e) {
    if (isModuleNotFound(e)) throw new Vns3Error(MISSING_SDK);
    throw e;
  }
}

/** AWS SDK v3 errors: the exception class name is the EC2 error code. */
function awsErrorParts(e: unknown): CloudErrorParts {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return { code: err.name && err.name !== 'Error' ? err.name : undefined, status: err.$metadata?.httpStatusCode, message: err.message };
}

/**
 * Creates the AWS route provider; loads `@aws-sdk/client-ec2` now, so a missing SDK fails early.
 * Throws `Vns3ValidationError` without a region (and no `ec2Client`), `Vns3Error` when the SDK is
 * not installed.
 */
export async function createAwsRouteProvider(options: AwsRouteProviderOptions): Promise<CloudRouteProvider> {
  if (!options.ec2Client && !options.region) throw new Vns3ValidationError('region', options.region, 'required');
  const sdk = await loadEc2();
  // The SDK reads its own defaults for settings left out, so absent ones stay absent.
  const config: EC2ClientConfig = { region: options.region };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  return new AwsRouteProvider(sdk, (options.ec2Client as EC2Client | undefined) ?? new sdk.EC2Client(config), options);
}

/** The ENI is the more precise target: an instance may carry several. */
function routeTarget(to: ControllerRef): { NetworkInterfaceId: string } | { InstanceId: string } {
  if (to.networkInterfaceId) return { NetworkInterfaceId: to.networkInterfaceId };
  if (to.instanceId) return { InstanceId: to.instanceId };
  throw new Vns3ValidationError('to', to.privateIp, 'needs instanceId or networkInterfaceId; resolve() it first');
}

/** Routes in EC2 route tables, targeting a controller's ENI (or instance). */
class AwsRouteProvider implements CloudRouteProvider {
  readonly cloud = 'aws' as const;
  private readonly call = cloudCaller('aws', awsErrorParts);
  private readonly vpcCache = new Map<string, string>();

  constructor(
    private readonly sdk: Ec2Module,
    private readonly client: EC2Client,
    private readonly options: AwsRouteProviderOptions,
  ) {}

  async resolve(privateIp: string, options: CloudCallOptions = {}): Promise<ControllerRef> {
    const inst = await this.findByIp(privateIp, options.signal);
    if (!inst?.InstanceId) {
      throw new CloudApiError({
        cloud: 'aws',
        operation: 'DescribeInstances',
        code: 'NotFound',
        reason: `no EC2 instance has private IP ${privateIp}${this.options.vpcId ? ` in ${this.options.vpcId}` : ''}`,
      });
    }
    const enis = inst.NetworkInterfaces ?? [];
    const eni =
      enis.find((n) => n.PrivateIpAddresses?.some((a) => a.PrivateIpAddress === privateIp)) ??
      enis.find((n) => n.Attachment?.DeviceIndex === 0);
    return { privateIp, instanceId: inst.InstanceId, networkInterfaceId: eni?.NetworkInterfaceId || undefined, name: tagName(inst.Tags) };
  }

  async routesTargeting(who: ControllerRef, options: CloudCallOptions = {}): Promise<CloudRoute[]> {
    const ref = who.instanceId || who.networkInterfaceId ? who : await this.resolve(who.privateIp, options);
    const tables = await this.describeTables({ Filters: await this.scopeFilters(ref, options.signal) }, options.signal);
    const found: CloudRoute[] = [];
    for (const t of tables) {
      const tableName = tagName(t.Tags);
      for (const r of t.Routes ?? []) {
        const destination = routeDestination(r);
        if (!t.RouteTableId || !destination || !targets(r, ref)) continue;
        found.push({ tableId: t.RouteTableId, tableName, destination, target: r.NetworkInterfaceId ?? r.InstanceId ?? routeTargetId(r) });
      }
    }
    return found;
  }

  async pointRoutesAt(routes: readonly RouteAddress[], to: ControllerRef, options: CloudCallOptions & { dryRun?: boolean | undefined } = {}): Promise<RouteChange[]> {
    const { signal, dryRun } = options;
    const target = routeTarget(to);
    const targetId = to.networkInterfaceId ?? to.instanceId ?? '';
    // Each table is read once per call, however many of its routes move.
    const tables = new Map<string, Promise<RouteTable | undefined>>();
    const table = (tableId: string, destination: string): Promise<RouteTable | undefined> => {
      let t = tables.get(tableId);
      if (!t) {
        t = this.describeTables({ RouteTableIds: [tableId] }, signal, { tableId, destination }).then((x) => x[0]);
        tables.set(tableId, t);
      }
      return t;
    };
    const report = (c: RouteChange): RouteChange => reportRouteChange(this.options.onEvent, 'aws', to.privateIp, c, dryRun);

    return changeEachRoute(routes, signal, async ({ tableId, destination }) => {
      const current = (await table(tableId, destination))?.Routes?.find((r) => routeDestination(r) === destination);
      const base = { tableId, destination, to: targetId };
      if (current && targets(current, to)) return { ...base, action: 'unchanged', from: routeTargetId(current) };
      if (dryRun) return report(current ? { ...base, action: 'replaced', from: routeTargetId(current) } : { ...base, action: 'created' });
      const action = await this.writeRoute(current !== undefined, tableId, destination, target, signal);
      // The change as first read, unless the table changed under us and the other verb was taken.
      if (action === (current ? 'replaced' : 'created')) return report(current ? { ...base, action, from: routeTargetId(current) } : { ...base, action });
      return report({ ...base, action });
    });
  }

  async instanceState(who: ControllerRef, options: CloudCallOptions = {}): Promise<InstanceState> {
    let inst: Instance | undefined;
    if (who.instanceId) {
      try {
        [inst] = await this.describeInstances({ InstanceIds: [who.instanceId] }, options.signal);
      } catch (e) {
        // AWS forgets terminated instances after a while; gone is as terminated.
        if (e instanceof CloudApiError && e.code === 'InvalidInstanceID.NotFound') return 'terminated';
        throw e;
      }
    } else {
      inst = await this.findByIp(who.privateIp, options.signal);
    }
    const name = inst?.State?.Name;
    return (name && STATES[name]) || 'unknown';
  }

  /**
   * Replaces the route when it exists, creates it otherwise; when the table changed between our
   * read and our write, takes the other verb once. Returns what was done.
   */
  private async writeRoute(exists: boolean, tableId: string, destination: string, target: object, signal: AbortSignal | undefined): Promise<'replaced' | 'created'> {
    const input = { RouteTableId: tableId, ...destinationParam(destination), ...target };
    const send = (op: 'ReplaceRoute' | 'CreateRoute'): Promise<unknown> =>
      this.call(
        op,
        (abortSignal) =>
          op === 'ReplaceRoute'
            ? this.client.send(new this.sdk.ReplaceRouteCommand(input), { abortSignal })
            : this.client.send(new this.sdk.CreateRouteCommand(input), { abortSignal }),
        signal,
        { tableId, destination },
      );
    try {
      await send(exists ? 'ReplaceRoute' : 'CreateRoute');
      return exists ? 'replaced' : 'created';
    } catch (e) {
      const code = e instanceof CloudApiError ? e.code : undefined;
      if (exists && code === 'InvalidRoute.NotFound') {
        await send('CreateRoute');
        return 'created';
      }
      if (!exists && code === 'RouteAlreadyExists') {
        await send('ReplaceRoute');
        return 'replaced';
      }
      throw e;
    }
  }

  private async describeInstances(input: { InstanceIds?: string[]; Filters?: Filter[] }, signal: AbortSignal | undefined): Promise<Instance[]> {
    const found: Instance[] = [];
    let NextToken: string | undefined;
    do {
      const out = await this.call(
        'DescribeInstances',
        (abortSignal) => this.client.send(new this.sdk.DescribeInstancesCommand({ ...input, NextToken }), { abortSignal }),
        signal,
      );
      for (const r of out.Reservations ?? []) found.push(...(r.Instances ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
    return found;
  }

  private async findByIp(privateIp: string, signal: AbortSignal | undefined): Promise<Instance | undefined> {
    const scope: Filter[] = [{ Name: 'instance-state-name', Values: LIVE_STATES }];
    if (this.options.vpcId) scope.push({ Name: 'vpc-id', Values: [this.options.vpcId] });
    // The HA plugin accepts a primary or a secondary IP of the controller.
    for (const name of ['private-ip-address', 'network-interface.addresses.private-ip-address']) {
      const found = await this.describeInstances({ Filters: [{ Name: name, Values: [privateIp] }, ...scope] }, signal);
      if (found.length > 1) {
        throw new Vns3Error(`More than one EC2 instance has private IP ${privateIp} (${found.map((i) => i.InstanceId).join(', ')}); set vpcId to choose`);
      }
      if (found[0]) return found[0];
    }
    return undefined;
  }

  private async scopeFilters(who: ControllerRef, signal: AbortSignal | undefined): Promise<Filter[]> {
    const filters: Filter[] = Object.entries(this.options.routeTableTags ?? {}).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }));
    let vpcId = this.options.vpcId;
    if (!vpcId && filters.length === 0 && who.instanceId) {
      // No scope configured: stay inside the controller's own VPC rather than the whole region.
      vpcId = this.vpcCache.get(who.instanceId);
      if (!vpcId) {
        const [inst] = await this.describeInstances({ InstanceIds: [who.instanceId] }, signal);
        vpcId = inst?.VpcId;
        if (vpcId) this.vpcCache.set(who.instanceId, vpcId);
      }
    }
    if (vpcId) filters.push({ Name: 'vpc-id', Values: [vpcId] });
    return filters;
  }

  private async describeTables(
    input: { RouteTableIds?: string[]; Filters?: Filter[] },
    signal: AbortSignal | undefined,
    where: { tableId?: string; destination?: string } = {},
  ): Promise<RouteTable[]> {
    const tables: RouteTable[] = [];
    let NextToken: string | undefined;
    do {
      const out = await this.call(
        'DescribeRouteTables',
        (abortSignal) => this.client.send(new this.sdk.DescribeRouteTablesCommand({ ...input, NextToken }), { abortSignal }),
        signal,
        where,
      );
      tables.push(...(out.RouteTables ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
    return tables;
  }
}
