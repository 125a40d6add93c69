import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsRouteProvider, type AwsRouteProviderOptions } from '../../../src/ha/cloud/aws.js';
import { CloudApiError, RouteChangeError, type CloudRouteProvider } from '../../../src/ha/index.js';
import { startEc2Emulator, type Ec2Emulator } from '../../../src/testing/clouds/index.js';

const VPC = 'vpc-0a';
const OTHER_VPC = 'vpc-0b';
const PRIMARY_IP = '10.0.1.10';
const SECONDARY_IP = '10.0.2.10';

let emu: Ec2Emulator;

async function provider(extra: Partial<AwsRouteProviderOptions> = {}): Promise<CloudRouteProvider> {
  return createAwsRouteProvider({
    region: 'us-east-1',
    endpoint: emu.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    maxAttempts: 1,
    vpcId: VPC,
    ...extra,
  });
}

beforeEach(async () => {
  emu = await startEc2Emulator();
  emu.addInstance({ instanceId: 'i-primary', networkInterfaceId: 'eni-primary', privateIp: PRIMARY_IP, vpcId: VPC, name: 'vns3-primary' });
  emu.addInstance({ instanceId: 'i-secondary', networkInterfaceId: 'eni-secondary', privateIp: SECONDARY_IP, vpcId: VPC, secondaryIps: ['10.0.2.11'] });
  emu.addRouteTable({
    routeTableId: 'rtb-a1',
    vpcId: VPC,
    tags: { Name: 'private-a', ha: 'yes' },
    routes: [
      { destination: '10.0.0.0/16', gatewayId: 'local' },
      { destination: '192.168.0.0/16', networkInterfaceId: 'eni-primary' },
      { destination: '172.16.0.0/12', instanceId: 'i-primary' },
      { destination: '0.0.0.0/0', gatewayId: 'igw-1' },
    ],
  });
  emu.addRouteTable({
    routeTableId: 'rtb-a2',
    vpcId: VPC,
    routes: [{ destination: '192.168.0.0/16', instanceId: 'i-primary' }],
  });
  emu.addRouteTable({
    routeTableId: 'rtb-b1',
    vpcId: OTHER_VPC,
    tags: { ha: 'yes' },
    routes: [{ destination: '192.168.0.0/16', networkInterfaceId: 'eni-primary' }],
  });
});

afterEach(async () => {
  await emu.stop();
});

describe('AWS route provider against the EC2 emulator', () => {
  it('resolves a controller by primary or secondary private IP', async () => {
    const aws = await provider();
    expect(await aws.resolve(PRIMARY_IP)).toEqual({
      privateIp: PRIMARY_IP,
      instanceId: 'i-primary',
      networkInterfaceId: 'eni-primary',
      name: 'vns3-primary',
    });
    expect(await aws.resolve('10.0.2.11')).toMatchObject({ instanceId: 'i-secondary', networkInterfaceId: 'eni-secondary' });
    await expect(aws.resolve('10.9.9.9')).rejects.toThrow(/no EC2 instance has private IP 10\.9\.9\.9/);
  });

  it('lists only routes in scope that target the controller', async () => {
    const aws = await provider();
    const primary = await aws.resolve(PRIMARY_IP);
    const routes = await aws.routesTargeting(primary);
    expect(routes.map((r) => `${r.tableId} ${r.destination} ${r.target}`).sort()).toEqual([
      'rtb-a1 172.16.0.0/12 eni-primary',
      'rtb-a1 192.168.0.0/16 eni-primary',
      'rtb-a2 192.168.0.0/16 eni-primary',
    ]);
    expect(routes.find((r) => r.tableId === 'rtb-a1')?.tableName).toBe('private-a');

    const byTag = await provider({ vpcId: undefined, routeTableTags: { ha: 'yes' } });
    const tagged = await byTag.routesTargeting(primary);
    expect(tagged.map((r) => r.tableId).sort()).toEqual(['rtb-a1', 'rtb-a1', 'rtb-b1']);
  });

  it('with no scope configured stays in the controller VPC', async () => {
    const aws = await provider({ vpcId: undefined });
    const routes = await aws.routesTargeting({ privateIp: PRIMARY_IP, instanceId: 'i-primary' });
    expect(new Set(routes.map((r) => r.tableId))).toEqual(new Set(['rtb-a1', 'rtb-a2']));
  });

  it('points routes at the secondary: replaces, re-creates a vanished route, then is idempotent', async () => {
    const aws = await provider();
    const primary = await aws.resolve(PRIMARY_IP);
    const secondary = await aws.resolve(SECONDARY_IP);
    const snapshot = await aws.routesTargeting(primary);
    expect(emu.deleteRoute('rtb-a2', '192.168.0.0/16')).toBe(true);

    const changes = await aws.pointRoutesAt(snapshot, secondary);
    expect(changes.map((c) => `${c.tableId} ${c.destination} ${c.action} ${c.from ?? '-'} ${c.to}`).sort()).toEqual([
      'rtb-a1 172.16.0.0/12 replaced eni-primary eni-secondary',
      'rtb-a1 192.168.0.0/16 replaced eni-primary eni-secondary',
      'rtb-a2 192.168.0.0/16 created - eni-secondary',
    ]);
    expect(emu.route('rtb-a1', '192.168.0.0/16')).toMatchObject({ networkInterfaceId: 'eni-secondary', instanceId: 'i-secondary', state: 'active' });
    expect(emu.route('rtb-a2', '192.168.0.0/16')).toMatchObject({ networkInterfaceId: 'eni-secondary' });
    expect(emu.route('rtb-b1', '192.168.0.0/16')).toMatchObject({ networkInterfaceId: 'eni-primary' });
    expect(emu.route('rtb-a1', '0.0.0.0/0')).toMatchObject({ gatewayId: 'igw-1' });
    const writes = emu.writes;
    expect(writes).toBe(3);

    const again = await aws.pointRoutesAt(snapshot, secondary);
    expect(again.every((c) => c.action === 'unchanged')).toBe(true);
    expect(again).toHaveLength(3);
    expect(emu.writes).toBe(writes);
    expect(await aws.routesTargeting(primary)).toEqual([]);
  });

  it('uses InstanceId when the target has no ENI, and takes back a route changed behind its back', async () => {
    const aws = await provider();
    const changes = await aws.pointRoutesAt([{ tableId: 'rtb-a2', destination: '192.168.0.0/16' }], {
      privateIp: SECONDARY_IP,
      instanceId: 'i-secondary',
    });
    expect(changes[0]).toMatchObject({ action: 'replaced', to: 'i-secondary' });
    const replace = emu.requests.find((r) => r.operation === 'ReplaceRoute');
    expect(replace?.params).toMatchObject({ InstanceId: 'i-secondary', RouteTableId: 'rtb-a2' });

    emu.setRouteTarget('rtb-a2', '192.168.0.0/16', { gatewayId: 'vgw-1' });
    const back = await aws.pointRoutesAt([{ tableId: 'rtb-a2', destination: '192.168.0.0/16' }], { privateIp: SECONDARY_IP, instanceId: 'i-secondary' });
    expect(back[0]).toMatchObject({ action: 'replaced', from: 'vgw-1' });
  });

  it('dry run computes the changes and writes nothing', async () => {
    const aws = await provider();
    const primary = await aws.resolve(PRIMARY_IP);
    const secondary = await aws.resolve(SECONDARY_IP);
    const snapshot = await aws.routesTargeting(primary);
    const planned = await aws.pointRoutesAt(snapshot, secondary, { dryRun: true });
    expect(planned.filter((c) => c.action === 'replaced')).toHaveLength(3);
    expect(emu.writes).toBe(0);
    expect(emu.requests.some((r) => r.operation === 'ReplaceRoute' || r.operation === 'CreateRoute')).toBe(false);
    expect(emu.route('rtb-a1', '192.168.0.0/16')?.networkInterfaceId).toBe('eni-primary');
  });

  it('reports the instance state the emulator holds', async () => {
    const aws = await provider();
    const primary = await aws.resolve(PRIMARY_IP);
    expect(await aws.instanceState(primary)).toBe('running');
    emu.setInstanceState('i-primary', 'stopped');
    expect(await aws.instanceState(primary)).toBe('stopped');
    expect(emu.route('rtb-a1', '192.168.0.0/16')?.state).toBe('blackhole');
    emu.setInstanceState('i-primary', 'shutting-down');
    expect(await aws.instanceState(primary)).toBe('terminated');
    expect(await aws.instanceState({ privateIp: '10.0.9.9', instanceId: 'i-gone' })).toBe('terminated');
  });

  it('surfaces EC2 errors naming the table and route, and still moves the other routes', async () => {
    const aws = await provider();
    const secondary = await aws.resolve(SECONDARY_IP);
    const err = await aws
      .pointRoutesAt(
        [
          { tableId: 'rtb-missing', destination: '192.168.0.0/16' },
          { tableId: 'rtb-a2', destination: '192.168.0.0/16' },
        ],
        secondary,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouteChangeError);
    const { failures, changes } = err as RouteChangeError;
    expect(changes).toEqual([expect.objectContaining({ tableId: 'rtb-a2', action: 'replaced' })]);
    expect(failures).toHaveLength(1);
    const cause = failures[0]?.error as CloudApiError;
    expect(cause).toBeInstanceOf(CloudApiError);
    expect(cause.code).toBe('InvalidRouteTableID.NotFound');
    expect(cause.message).toContain('rtb-missing');
    expect((err as Error).message).toContain('rtb-missing 192.168.0.0/16');

    emu.faults = { failRate: 1, operations: ['ReplaceRoute'] };
    const failed = await aws.pointRoutesAt([{ tableId: 'rtb-a1', destination: '172.16.0.0/12' }], secondary).catch((e: unknown) => e);
    const write = (failed as RouteChangeError).failures[0]?.error as CloudApiError;
    expect(write).toMatchObject({ operation: 'ReplaceRoute', code: 'Unavailable', status: 503, tableId: 'rtb-a1', destination: '172.16.0.0/12' });
    expect(write.message).not.toContain('test-secret');
  });

  it('aborts a call that hangs', async () => {
    const aws = await provider();
    emu.faults = { hang: true, operations: ['DescribeRouteTables'] };
    const ac = new AbortController();
    const pending = aws.pointRoutesAt([{ tableId: 'rtb-a1', destination: '192.168.0.0/16' }], { privateIp: SECONDARY_IP, instanceId: 'i-secondary' }, { signal: ac.signal });
    for (let i = 0; i < 200 && !emu.requests.some((r) => r.operation === 'DescribeRouteTables'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(emu.requests.some((r) => r.operation === 'DescribeRouteTables')).toBe(true);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(emu.writes).toBe(0);
  });
});
