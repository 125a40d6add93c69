import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEc2Emulator, type Ec2Emulator } from '../../../src/testing/clouds/index.js';
import { sleep } from '../../../src/abort.js';

let emu: Ec2Emulator;

async function ec2(params: Record<string, string>): Promise<{ status: number; xml: string }> {
  const res = await fetch(`${emu.endpoint}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ Version: '2016-11-15', ...params }).toString(),
  });
  return { status: res.status, xml: await res.text() };
}

beforeAll(async () => {
  emu = await startEc2Emulator({ random: () => 0.5 });
  emu.addInstance({ instanceId: 'i-1', networkInterfaceId: 'eni-1', privateIp: '10.0.0.10', vpcId: 'vpc-1' });
  emu.addRouteTable({
    routeTableId: 'rtb-1',
    vpcId: 'vpc-1',
    tags: { Name: 'main', env: 'prod-eu' },
    routes: [
      { destination: '10.0.0.0/16', gatewayId: 'local' },
      { destination: '192.168.0.0/16', instanceId: 'i-1' },
    ],
  });
  emu.addRouteTable({ routeTableId: 'rtb-2', vpcId: 'vpc-2', routes: [] });
});

afterAll(async () => {
  await emu.stop();
});

describe('EC2 emulator wire protocol', () => {
  it('describes route tables by id and filters, with AWS-shaped XML', async () => {
    const all = await ec2({ Action: 'DescribeRouteTables' });
    expect(all.status).toBe(200);
    expect(all.xml).toContain('<routeTableId>rtb-1</routeTableId>');
    expect(all.xml).toContain('<routeTableId>rtb-2</routeTableId>');
    expect(all.xml).toMatch(/<destinationCidrBlock>192\.168\.0\.0\/16<\/destinationCidrBlock><instanceId>i-1<\/instanceId>.*<networkInterfaceId>eni-1<\/networkInterfaceId><state>active<\/state>/);

    const byTag = await ec2({ Action: 'DescribeRouteTables', 'Filter.1.Name': 'tag:env', 'Filter.1.Value.1': 'prod-*' });
    expect(byTag.xml).toContain('rtb-1');
    expect(byTag.xml).not.toContain('rtb-2');

    const byRoute = await ec2({ Action: 'DescribeRouteTables', 'Filter.1.Name': 'route.instance-id', 'Filter.1.Value.1': 'i-1', 'Filter.2.Name': 'vpc-id', 'Filter.2.Value.1': 'vpc-2' });
    expect(byRoute.xml).not.toContain('<routeTableId>');

    const byId = await ec2({ Action: 'DescribeRouteTables', 'RouteTableId.1': 'rtb-2' });
    expect(byId.xml).toContain('rtb-2');
    expect(byId.xml).not.toContain('rtb-1');
  });

  it('answers errors the way EC2 does', async () => {
    const missing = await ec2({ Action: 'DescribeRouteTables', 'RouteTableId.1': 'rtb-nope' });
    expect(missing.status).toBe(400);
    expect(missing.xml).toMatch(/<Response><Errors><Error><Code>InvalidRouteTableID\.NotFound<\/Code><Message>The routeTable ID 'rtb-nope' does not exist<\/Message><\/Error><\/Errors><RequestID>/);

    const noRoute = await ec2({ Action: 'ReplaceRoute', RouteTableId: 'rtb-1', DestinationCidrBlock: '1.2.3.0/24', InstanceId: 'i-1' });
    expect(noRoute.xml).toContain('<Code>InvalidRoute.NotFound</Code>');
    const exists = await ec2({ Action: 'CreateRoute', RouteTableId: 'rtb-1', DestinationCidrBlock: '192.168.0.0/16', InstanceId: 'i-1' });
    expect(exists.xml).toContain('<Code>RouteAlreadyExists</Code>');
    const badInstance = await ec2({ Action: 'CreateRoute', RouteTableId: 'rtb-1', DestinationCidrBlock: '1.2.3.0/24', InstanceId: 'i-nope' });
    expect(badInstance.xml).toContain('<Code>InvalidInstanceID.NotFound</Code>');
    const badFilter = await ec2({ Action: 'DescribeInstances', 'Filter.1.Name': 'bogus', 'Filter.1.Value.1': 'x' });
    expect(badFilter.xml).toContain('<Code>InvalidParameterValue</Code>');
    const badAction = await ec2({ Action: 'RunInstances' });
    expect(badAction.xml).toContain('<Code>InvalidAction</Code>');
    expect(emu.writes).toBe(0);
  });

  it('writes routes and counts writes', async () => {
    const created = await ec2({ Action: 'CreateRoute', RouteTableId: 'rtb-2', DestinationCidrBlock: '172.16.0.0/12', NetworkInterfaceId: 'eni-1' });
    expect(created.xml).toContain('<return>true</return>');
    expect(emu.route('rtb-2', '172.16.0.0/12')).toMatchObject({ instanceId: 'i-1', networkInterfaceId: 'eni-1', origin: 'CreateRoute' });
    expect(emu.writes).toBe(1);
    expect(emu.requests.at(-1)).toMatchObject({ operation: 'CreateRoute', status: 200, params: { RouteTableId: 'rtb-2' } });
  });

  it('describes instances by id and by private IP, with state codes', async () => {
    const byIp = await ec2({ Action: 'DescribeInstances', 'Filter.1.Name': 'private-ip-address', 'Filter.1.Value.1': '10.0.0.10' });
    expect(byIp.xml).toMatch(/<instanceId>i-1<\/instanceId>.*<instanceState><code>16<\/code><name>running<\/name><\/instanceState>/);
    emu.setInstanceState('i-1', 'stopped');
    const byId = await ec2({ Action: 'DescribeInstances', 'InstanceId.1': 'i-1' });
    expect(byId.xml).toContain('<code>80</code><name>stopped</name>');
    expect(emu.route('rtb-1', '192.168.0.0/16')?.state).toBe('blackhole');
    emu.setInstanceState('i-1', 'running');
  });

  it('injects failures and hangs, and stop() ends hanging requests', async () => {
    emu.faults = { failRate: 0.6, operations: ['DescribeInstances'] };
    const failed = await ec2({ Action: 'DescribeInstances' });
    expect(failed.status).toBe(503);
    expect(failed.xml).toContain('<Code>Unavailable</Code>');
    expect((await ec2({ Action: 'DescribeRouteTables' })).status).toBe(200);
    emu.faults = { failRate: 0.4 };
    expect((await ec2({ Action: 'DescribeInstances' })).status).toBe(200);

    const other = await startEc2Emulator({ faults: { hang: true } });
    const pending = fetch(`${other.endpoint}/`, { method: 'POST', body: 'Action=DescribeRouteTables' }).then(
      () => 'answered',
      () => 'closed',
    );
    for (let i = 0; i < 200 && other.requests.length === 0; i++) await sleep(10);
    expect(other.requests).toHaveLength(1);
    await other.stop();
    expect(await pending).toBe('closed');
    emu.faults = {};
  });

  it('hands out snapshots that do not alias its state', async () => {
    const [first] = emu.routeTables();
    first!.routes.length = 0;
    expect(emu.routeTables()[0]!.routes.length).toBeGreaterThan(0);
    emu.setRouteTarget('rtb-1', '192.168.0.0/16', { gatewayId: 'vgw-9' });
    expect(emu.route('rtb-1', '192.168.0.0/16')).toMatchObject({ gatewayId: 'vgw-9', state: 'active' });
    expect(emu.route('rtb-1', '192.168.0.0/16')?.instanceId).toBeUndefined();
  });
});

describe('EC2 emulator request log', () => {
  it('keeps the newest requestLogLimit requests; writes keep counting; a bad limit is refused', async () => {
    await expect(startEc2Emulator({ requestLogLimit: 0 })).rejects.toThrow(/Invalid requestLogLimit/);
    const small = await startEc2Emulator({ requestLogLimit: 3 });
    try {
      small.addRouteTable({ routeTableId: 'rtb-9', vpcId: 'vpc-9', routes: [] });
      const call = (params: Record<string, string>) =>
        fetch(`${small.endpoint}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ Version: '2016-11-15', ...params }).toString(),
        }).then((r) => r.text());
      for (let i = 0; i < 5; i++) await call({ Action: 'CreateRoute', RouteTableId: 'rtb-9', DestinationCidrBlock: `10.9.${i}.0/24`, GatewayId: 'igw-1' });
      await call({ Action: 'DescribeRouteTables' });
      expect(small.requests.map((r) => r.operation)).toEqual(['CreateRoute', 'CreateRoute', 'DescribeRouteTables']);
      expect(small.writes).toBe(5);
    } finally {
      await small.stop();
    }
  });
});
