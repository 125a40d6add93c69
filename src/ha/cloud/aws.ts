// `@aws-sdk/client-ec2` is an optional peer dependency: only type imports
// here (erased at build), the module itself is loaded on first use.
import type { EC2Client, EC2ClientConfig, Filter, Instance, RouteTable } from '@aws-sdk/client-ec2';
import { Vns3Error, Vns3ValidationError } from '../../client/errors.js';
import type { Vns3EventHandler } from '../../events.js';
import { destinationParam, LIVE_STATES, routeDestination, routeTargetId, STATES, tagName, targets } from './aws-routes.js';
import {
  changeEachRoute,
  CloudApiError,
  cloudCaller,
  isModuleNotFound,
  reportRouteChange,
  type CloudErrorParts,
  type CloudRoute,
  type CloudRouteProvider,
  type ControllerRef,
  type InstanceState,
  type RouteChange,
} from './provider.js';

type Ec2Module = typeof import('@aws-sdk/client-ec2');

export interface AwsRouteProviderOptions {
  region: string;
  /** Scope: the route tables of this VPC. With neither vpcId nor routeTableTags, the controller's own VPC. */
  vpcId?: string;
  /** Scope: only route tables carrying all these tags. */
  routeTableTags?: Record<string, string>;
  /** e.g. the EC2 emulator of `vns3-sdk/testing`, or a VPC endpoint. */
  endpoint?: string;
  /** Default: the AWS SDK's credential chain (instance role on a controller). */
  credentials?: EC2ClientConfig['credentials'];
  /** Bring your own configured client; region/endpoint/credentials are then ignored. */
  ec2Client?: EC2Client;
  /** SDK attempts per call (default: the SDK's, 3). */
  maxAttempts?: number;
  onEvent?: Vns3EventHandler;
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
  return {
    ...(err.name && err.name !== 'Error' ? { code: err.name } : {}),
    ...(err.$metadata?.httpStatusCode !== undefined ? { status: err.$metadata.httpStatusCode } : {}),
    ...(err.message !== undefined ? { message: err.message } : {}),
  };
}

/** Creates the AWS route provider; loads `@aws-sdk/client-ec2` now, so a missing SDK fails early. */
export async function createAwsRouteProvider(options: AwsRouteProviderOptions): Promise<CloudRouteProvider> {
  if (!options.ec2Client && !options.region) throw new Vns3ValidationError('region', options.region, 'required');
  const sdk = await loadEc2();
  const client =
    options.ec2Client ??
    new sdk.EC2Client({
      region: options.region,
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    });

  const call = cloudCaller('aws', awsErrorParts);

  async function describeInstances(
    input: { InstanceIds?: string[]; Filters?: Filter[] },
    signal: AbortSignal | undefined,
  ): Promise<Instance[]> {
    const found: Instance[] = [];
    let NextToken: string | undefined;
    do {
      const out = await call(
        'DescribeInstances',
        (abortSignal) => client.send(new sdk.DescribeInstancesCommand({ ...input, NextToken }), { abortSignal }),
        signal,
      );
      for (const r of out.Reservations ?? []) found.push(...(r.Instances ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
    return found;
  }

  async function findByIp(privateIp: string, signal: AbortSignal | undefined): Promise<Instance | undefined> {
    const scope: Filter[] = [{ Name: 'instance-state-name', Values: LIVE_STATES }];
    if (options.vpcId) scope.push({ Name: 'vpc-id', Values: [options.vpcId] });
    // The HA plugin accepts a primary or a secondary IP of the controller.
    for (const name of ['private-ip-address', 'network-interface.addresses.private-ip-address']) {
      const found = await describeInstances({ Filters: [{ Name: name, Values: [privateIp] }, ...scope] }, signal);
      if (found.length > 1) {
        throw new Vns3Error(
          `More than one EC2 instance has private IP ${privateIp} (${found.map((i) => i.InstanceId).join(', ')}); set vpcId to choose`,
        );
      }
      if (found[0]) return found[0];
    }
    return undefined;
  }

  async function resolve(privateIp: string, opts: { signal?: AbortSignal } = {}): Promise<ControllerRef> {
    const inst = await findByIp(privateIp, opts.signal);
    if (!inst?.InstanceId) {
      throw new CloudApiError({
        cloud: 'aws',
        operation: 'DescribeInstances',
        code: 'NotFound',
        reason: `no EC2 instance has private IP ${privateIp}${options.vpcId ? ` in ${options.vpcId}` : ''}`,
      });
    }
    const enis = inst.NetworkInterfaces ?? [];
    const eni =
      enis.find((n) => n.PrivateIpAddresses?.some((a) => a.PrivateIpAddress === privateIp)) ??
      enis.find((n) => n.Attachment?.DeviceIndex === 0);
    const name = tagName(inst.Tags);
    return {
      privateIp,
      instanceId: inst.InstanceId,
      ...(eni?.NetworkInterfaceId ? { networkInterfaceId: eni.NetworkInterfaceId } : {}),
      ...(name !== undefined ? { name } : {}),
    };
  }

  async function ensureIds(who: ControllerRef, signal: AbortSignal | undefined): Promise<ControllerRef> {
    return who.instanceId || who.networkInterfaceId ? who : resolve(who.privateIp, { signal });
  }

  const vpcCache = new Map<string, string>();
  async function scopeFilters(who: ControllerRef, signal: AbortSignal | undefined): Promise<Filter[]> {
    const filters: Filter[] = Object.entries(options.routeTableTags ?? {}).map(([k, v]) => ({
      Name: `tag:${k}`,
      Values: [v],
    }));
    let vpcId = options.vpcId;
    if (!vpcId && filters.length === 0 && who.instanceId) {
      // No scope configured: stay inside the controller's own VPC rather than the whole region.
      vpcId = vpcCache.get(who.instanceId);
      if (!vpcId) {
        const [inst] = await describeInstances({ InstanceIds: [who.instanceId] }, signal);
        vpcId = inst?.VpcId;
        if (vpcId) vpcCache.set(who.instanceId, vpcId);
      }
    }
    if (vpcId) filters.push({ Name: 'vpc-id', Values: [vpcId] });
    return filters;
  }

  async function describeTables(
    input: { RouteTableIds?: string[]; Filters?: Filter[] },
    signal: AbortSignal | undefined,
    where: { tableId?: string; destination?: string } = {},
  ): Promise<RouteTable[]> {
    const tables: RouteTable[] = [];
    let NextToken: string | undefined;
    do {
      const out = await call(
        'DescribeRouteTables',
        (abortSignal) => client.send(new sdk.DescribeRouteTablesCommand({ ...input, NextToken }), { abortSignal }),
        signal,
        where,
      );
      tables.push(...(out.RouteTables ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
    return tables;
  }

  async function routesTargeting(who: ControllerRef, opts: { signal?: AbortSignal } = {}): Promise<CloudRoute[]> {
    const ref = await ensureIds(who, opts.signal);
    const tables = await describeTables({ Filters: await scopeFilters(ref, opts.signal) }, opts.signal);
    const found: CloudRoute[] = [];
    for (const t of tables) {
      const tableName = tagName(t.Tags);
      for (const r of t.Routes ?? []) {
        const destination = routeDestination(r);
        if (!t.RouteTableId || !destination || !targets(r, ref)) continue;
        found.push({
          tableId: t.RouteTableId,
          ...(tableName !== undefined ? { tableName } : {}),
          destination,
          target: r.NetworkInterfaceId ?? r.InstanceId ?? routeTargetId(r),
        });
      }
    }
    return found;
  }

  async function pointRoutesAt(
    routes: readonly Pick<CloudRoute, 'tableId' | 'destination'>[],
    to: ControllerRef,
    opts: { signal?: AbortSignal; dryRun?: boolean } = {},
  ): Promise<RouteChange[]> {
    const { signal } = opts;
    // The ENI is the more precise target: an instance may carry several.
    const target = to.networkInterfaceId
      ? { NetworkInterfaceId: to.networkInterfaceId }
      : to.instanceId
        ? { InstanceId: to.instanceId }
        : undefined;
    if (!target) {
      throw new Vns3ValidationError('to', to.privateIp, 'needs instanceId or networkInterfaceId; resolve() it first');
    }
    const targetId = to.networkInterfaceId ?? to.instanceId ?? '';
    const tables = new Map<string, Promise<RouteTable | undefined>>();
    const table = (tableId: string, destination: string): Promise<RouteTable | undefined> => {
      let t = tables.get(tableId);
      if (!t) {
        t = describeTables({ RouteTableIds: [tableId] }, signal, { tableId, destination }).then((x) => x[0]);
        tables.set(tableId, t);
      }
      return t;
    };

    const write = async (
      op: 'ReplaceRoute' | 'CreateRoute',
      tableId: string,
      destination: string,
    ): Promise<void> => {
      const input = { RouteTableId: tableId, ...destinationParam(destination), ...target };
      const where = { tableId, destination };
      await call(
        op,
        (abortSignal) =>
          op === 'ReplaceRoute'
            ? client.send(new sdk.ReplaceRouteCommand(input), { abortSignal })
            : client.send(new sdk.CreateRouteCommand(input), { abortSignal }),
        signal,
        where,
      );
    };

    const report = (c: RouteChange): RouteChange => reportRouteChange(options.onEvent, 'aws', to.privateIp, c, opts.dryRun);

    return changeEachRoute(routes, signal, async ({ tableId, destination }) => {
      const current = (await table(tableId, destination))?.Routes?.find((r) => routeDestination(r) === destination);
      const base = { tableId, destination, to: targetId };
      if (current && targets(current, to)) return { ...base, action: 'unchanged', from: routeTargetId(current) };
      const change: RouteChange = current
        ? { ...base, action: 'replaced', from: routeTargetId(current) }
        : { ...base, action: 'created' };
      if (opts.dryRun) return report(change);
      try {
        await write(current ? 'ReplaceRoute' : 'CreateRoute', tableId, destination);
      } catch (e) {
        // The table changed between our read and our write: take the other verb once.
        const code = e instanceof CloudApiError ? e.code : undefined;
        if (current && code === 'InvalidRoute.NotFound') {
          await write('CreateRoute', tableId, destination);
          return report({ ...base, action: 'created' });
        }
        if (!current && code === 'RouteAlreadyExists') {
          await write('ReplaceRoute', tableId, destination);
          return report({ ...base, action: 'replaced' });
        }
        throw e;
      }
      return report(change);
    });
  }

  async function instanceState(who: ControllerRef, opts: { signal?: AbortSignal } = {}): Promise<InstanceState> {
    let inst: Instance | undefined;
    if (who.instanceId) {
      try {
        [inst] = await describeInstances({ InstanceIds: [who.instanceId] }, opts.signal);
      } catch (e) {
        // AWS forgets terminated instances after a while; gone is as terminated.
        if (e instanceof CloudApiError && e.code === 'InvalidInstanceID.NotFound') return 'terminated';
        throw e;
      }
    } else {
      inst = await findByIp(who.privateIp, opts.signal);
    }
    const name = inst?.State?.Name;
    return (name && STATES[name]) || 'unknown';
  }

  return { cloud: 'aws', resolve, routesTargeting, pointRoutesAt, instanceState };
}
