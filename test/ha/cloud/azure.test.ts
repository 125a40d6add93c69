import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAzureRouteProvider, routeNameFor, type AzureRouteProviderOptions } from '../../../src/ha/cloud/azure.js';
import { CloudApiError, RouteChangeError, type CloudRouteProvider } from '../../../src/ha/index.js';
import { startAzureEmulator, type AzureEmulator } from '../../../src/testing/clouds/index.js';
import type { Vns3Event } from '../../../src/events.js';

const PRIMARY_IP = '10.1.1.10';
const SECONDARY_IP = '10.1.2.10';

let emu: AzureEmulator;
let tableA1: string;
let tableA2: string;

async function provider(extra: Partial<AzureRouteProviderOptions> = {}): Promise<CloudRouteProvider> {
  return createAzureRouteProvider({
    subscriptionId: emu.subscriptionId,
    resourceGroup: emu.resourceGroup,
    endpoint: emu.endpoint,
    ca: emu.ca,
    credential: emu.credential,
    maxRetries: 0,
    pollIntervalMs: 10,
    ...extra,
  });
}

beforeEach(async () => {
  emu = await startAzureEmulator();
  emu.addVm({ name: 'vns3-primary', privateIp: PRIMARY_IP });
  emu.addVm({ name: 'vns3-secondary', privateIp: SECONDARY_IP, resourceGroup: 'other-rg' });
  tableA1 = emu.addRouteTable({
    name: 'rt-a1',
    tags: { ha: 'yes' },
    routes: [
      { name: 'to-aws', addressPrefix: '172.31.0.0/16', nextHopIpAddress: PRIMARY_IP },
      { name: 'to-overlay', addressPrefix: '100.127.255.0/24', nextHopIpAddress: PRIMARY_IP },
      { name: 'internet', addressPrefix: '0.0.0.0/0', nextHopType: 'Internet' },
    ],
  }).id;
  tableA2 = emu.addRouteTable({
    name: 'rt-a2',
    routes: [{ name: 'to-aws', addressPrefix: '172.31.0.0/16', nextHopIpAddress: PRIMARY_IP }],
  }).id;
  emu.addRouteTable({
    name: 'rt-out',
    resourceGroup: 'other-rg',
    tags: { ha: 'yes' },
    routes: [{ name: 'to-aws', addressPrefix: '172.31.0.0/16', nextHopIpAddress: PRIMARY_IP }],
  });
});

afterEach(async () => {
  await emu.stop();
});

describe('Azure route provider against the ARM emulator (HTTPS)', () => {
  it('resolves a controller by private IP, also in another resource group', async () => {
    const az = await provider();
    const primary = await az.resolve(PRIMARY_IP);
    expect(primary).toMatchObject({ privateIp: PRIMARY_IP, name: 'vns3-primary' });
    expect(primary.instanceId).toMatch(/\/resourceGroups\/vns3-rg\/providers\/Microsoft\.Compute\/virtualMachines\/vns3-primary$/);
    expect(primary.networkInterfaceId).toMatch(/networkInterfaces\/vns3-primary-nic$/);
    expect((await az.resolve(SECONDARY_IP)).name).toBe('vns3-secondary');
    await expect(az.resolve('10.9.9.9')).rejects.toThrow(/no network interface has private IP 10\.9\.9\.9/);
  });

  it('lists only routes in scope (resource group, tags) that target the controller', async () => {
    const az = await provider();
    const primary = await az.resolve(PRIMARY_IP);
    const routes = await az.routesTargeting(primary);
    expect(routes.map((r) => `${r.tableName} ${r.destination} ${r.target}`).sort()).toEqual([
      `rt-a1 100.127.255.0/24 ${PRIMARY_IP}`,
      `rt-a1 172.31.0.0/16 ${PRIMARY_IP}`,
      `rt-a2 172.31.0.0/16 ${PRIMARY_IP}`,
    ]);
    const tagged = await (await provider({ routeTableTags: { ha: 'yes' } })).routesTargeting(primary);
    expect(new Set(tagged.map((r) => r.tableId))).toEqual(new Set([tableA1]));
  });

  it('points routes at the secondary: replaces, re-creates a vanished route, then is idempotent', async () => {
    const events: Vns3Event[] = [];
    const az = await provider({ onEvent: (e) => events.push(e) });
    const primary = await az.resolve(PRIMARY_IP);
    const secondary = await az.resolve(SECONDARY_IP);
    const snapshot = await az.routesTargeting(primary);
    expect(emu.deleteRoute('rt-a2', '172.31.0.0/16')).toBe(true);

    const changes = await az.pointRoutesAt(snapshot, secondary);
    expect(changes.map((c) => `${c.tableId === tableA1 ? 'a1' : 'a2'} ${c.destination} ${c.action} ${c.from ?? '-'}`).sort()).toEqual([
      `a1 100.127.255.0/24 replaced ${PRIMARY_IP}`,
      `a1 172.31.0.0/16 replaced ${PRIMARY_IP}`,
      'a2 172.31.0.0/16 created -',
    ]);
    expect(emu.route('rt-a1', '172.31.0.0/16')).toEqual({
      name: 'to-aws',
      addressPrefix: '172.31.0.0/16',
      nextHopType: 'VirtualAppliance',
      nextHopIpAddress: SECONDARY_IP,
    });
    expect(emu.route('rt-a2', '172.31.0.0/16')).toMatchObject({ name: routeNameFor('172.31.0.0/16'), nextHopIpAddress: SECONDARY_IP });
    expect(emu.route('rt-out', '172.31.0.0/16', 'other-rg')?.nextHopIpAddress).toBe(PRIMARY_IP);
    expect(emu.route('rt-a1', '0.0.0.0/0')?.nextHopType).toBe('Internet');
    expect(emu.writes).toBe(3);
    expect(events.map((e) => e.step).sort()).toEqual(['cloud.route.created', 'cloud.route.replaced', 'cloud.route.replaced']);

    const again = await az.pointRoutesAt(snapshot, secondary);
    expect(again).toHaveLength(3);
    expect(again.every((c) => c.action === 'unchanged')).toBe(true);
    expect(emu.writes).toBe(3);
    expect(await az.routesTargeting(primary)).toEqual([]);
  });

  it('takes back a route re-pointed behind its back', async () => {
    const az = await provider();
    emu.setRouteNextHop('rt-a2', '172.31.0.0/16', '10.1.3.3');
    const [change] = await az.pointRoutesAt([{ tableId: tableA2, destination: '172.31.0.0/16' }], { privateIp: SECONDARY_IP });
    expect(change).toMatchObject({ action: 'replaced', from: '10.1.3.3', to: SECONDARY_IP });
    expect(emu.route('rt-a2', '172.31.0.0/16')?.nextHopIpAddress).toBe(SECONDARY_IP);
  });

  it('dry run computes the changes and writes nothing', async () => {
    const az = await provider();
    const snapshot = await az.routesTargeting({ privateIp: PRIMARY_IP });
    const planned = await az.pointRoutesAt(snapshot, { privateIp: SECONDARY_IP }, { dryRun: true });
    expect(planned.filter((c) => c.action === 'replaced')).toHaveLength(3);
    expect(emu.writes).toBe(0);
    expect(emu.requests.some((r) => r.method === 'PUT')).toBe(false);
    expect(emu.route('rt-a1', '172.31.0.0/16')?.nextHopIpAddress).toBe(PRIMARY_IP);
  });

  it('reports the VM power state the emulator holds', async () => {
    const az = await provider();
    const primary = await az.resolve(PRIMARY_IP);
    expect(await az.instanceState(primary)).toBe('running');
    emu.setPowerState('vns3-primary', 'deallocated');
    expect(await az.instanceState(primary)).toBe('deallocated');
    emu.setPowerState('vns3-primary', 'stopped');
    expect(await az.instanceState({ privateIp: PRIMARY_IP })).toBe('stopped');
    const gone = primary.instanceId!.replace('vns3-primary', 'vns3-deleted');
    expect(await az.instanceState({ privateIp: '10.1.9.9', instanceId: gone })).toBe('terminated');
  });

  it('surfaces ARM errors naming the table and route, and still moves the other routes', async () => {
    const az = await provider();
    const missing = tableA1.replace('rt-a1', 'rt-missing');
    const err = await az
      .pointRoutesAt(
        [
          { tableId: missing, destination: '172.31.0.0/16' },
          { tableId: tableA2, destination: '172.31.0.0/16' },
        ],
        { privateIp: SECONDARY_IP },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouteChangeError);
    const { failures, changes } = err as RouteChangeError;
    expect(changes).toEqual([expect.objectContaining({ tableId: tableA2, action: 'replaced' })]);
    const cause = failures[0]?.error as CloudApiError;
    expect(cause).toBeInstanceOf(CloudApiError);
    expect(cause).toMatchObject({ code: 'ResourceNotFound', status: 404, operation: 'routeTables.get' });
    expect(cause.message).toContain('rt-missing');
    expect((err as Error).message).toContain('172.31.0.0/16');

    emu.faults = { failRate: 1, operations: ['routes.createOrUpdate'] };
    const failed = await az.pointRoutesAt([{ tableId: tableA1, destination: '172.31.0.0/16' }], { privateIp: SECONDARY_IP }).catch((e: unknown) => e);
    const write = (failed as RouteChangeError).failures[0]?.error as CloudApiError;
    expect(write).toMatchObject({ operation: 'routes.createOrUpdate', status: 503, tableId: tableA1, destination: '172.31.0.0/16' });
    expect(write.message).not.toMatch(/Bearer|emulator-/);
  });

  it('is refused without the emulator credential', async () => {
    const az = await provider({ credential: { getToken: async () => ({ token: 'wrong', expiresOnTimestamp: Date.now() + 60_000 }) } });
    const err = await az.routesTargeting({ privateIp: PRIMARY_IP }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudApiError);
    expect((err as CloudApiError).status).toBe(401);
    expect((err as Error).message).not.toContain('wrong');
  });

  it('aborts a call that hangs', async () => {
    const az = await provider();
    emu.faults = { hang: true, operations: ['routeTables.get'] };
    const ac = new AbortController();
    const pending = az.pointRoutesAt([{ tableId: tableA1, destination: '172.31.0.0/16' }], { privateIp: SECONDARY_IP }, { signal: ac.signal });
    for (let i = 0; i < 200 && !emu.requests.some((r) => r.operation === 'routeTables.get'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(emu.requests.some((r) => r.operation === 'routeTables.get')).toBe(true);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(emu.writes).toBe(0);
  });
});
