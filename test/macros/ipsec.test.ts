import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../src/client/errors.js';
import { type Vns3Event } from '../../src/events.js';
import { allocateVti, bridgeControllers, ensureIpsecEndpoint, waitForIpsecEndpoints, Vns3WaitTimeoutError } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';
import { licenseRoot } from '../testing/simulator/steps.js';

const PSK = 'bridge-secret-42';
const FAST = { timeoutMs: 1_500, intervalMs: 20 };

describe('IPsec macros', () => {
  let mesh: TestMesh;
  const publicIp = (i: number): string => mesh.sim.controllers[i]!.identity.publicIp;
  const client = (i: number) => mesh.clients[i]!;

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 4 });
    await Promise.all([0, 1, 2, 3].map((i) => licenseRoot(mesh, i)));
  });
  afterAll(async () => mesh?.stop());

  it('ensureIpsecEndpoint creates endpoint, tunnels and pairs, writes nothing the second time, and changes a key in place', async () => {
    const spec = {
      name: 'datacenter',
      remoteIp: '203.0.113.10',
      psk: PSK,
      tunnels: [{ localSubnet: '10.1.0.0/16', remoteSubnet: '192.168.0.0/24' }],
      trafficPairs: [{ localSubnet: '10.1.0.0/16', remoteSubnet: '192.168.1.0/24' }],
    };
    const events: Vns3Event[] = [];
    mesh.sim.resetCounters();
    const first = await ensureIpsecEndpoint(client(3), spec, { onEvent: (e) => events.push(e) });
    expect(first.plan.endpoint).toBe('create');
    expect(first.tunnelIds).toHaveLength(1);
    expect(mesh.sim.totalWrites()).toBe(3);

    mesh.sim.resetCounters();
    const second = await ensureIpsecEndpoint(client(3), spec);
    expect(second.plan.endpoint).toBe('unchanged');
    expect([second.writes, mesh.sim.totalWrites()]).toEqual([0, 0]);

    // A new key and a new remote network: changed in place, ids kept.
    mesh.sim.resetCounters();
    const changed = await ensureIpsecEndpoint(client(3), { ...spec, psk: 'rotated-key', tunnels: [{ localSubnet: '10.1.0.0/16', remoteSubnet: '192.168.8.0/24' }] }, { onEvent: (e) => events.push(e) });
    expect(changed.plan).toMatchObject({ endpoint: 'update', changed: ['psk'], tunnels: { update: [{ id: first.tunnelIds[0], remoteSubnet: '192.168.8.0/24' }] } });
    expect(changed.endpointId).toBe(first.endpointId);
    expect(mesh.sim.totalWrites()).toBe(2);
    const ep = await client(3).get('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: changed.endpointId! } } });
    expect(Object.values(ep.tunnels).map((t) => t.remote_subnet)).toEqual(['192.168.8.0/24']);

    // replace: true deletes and recreates instead.
    const replaced = await ensureIpsecEndpoint(client(3), { ...spec, psk: 'third-key' }, { replace: true });
    expect(replaced.plan.endpoint).toBe('replace');
    expect(replaced.endpointId).not.toBe(first.endpointId);

    // A dry run plans without writing; bad input fails before any request, the key redacted.
    mesh.sim.resetCounters();
    const dry = await ensureIpsecEndpoint(client(3), { ...spec, name: 'other', remoteIp: '203.0.113.11' }, { dryRun: true });
    expect([dry.plan.endpoint, dry.dryRun, mesh.sim.totalWrites()]).toEqual(['create', true, 0]);
    mesh.sim.resetCounters();
    const bad = await ensureIpsecEndpoint(client(3), { ...spec, psk: 'line\nbreak' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Vns3ValidationError);
    expect(String(bad)).not.toContain('line');
    expect(mesh.sim.controllers[3]!.requestLog.length).toBe(0);

    const text = JSON.stringify(events) + inspect([first, changed, replaced], { depth: 10 });
    for (const secret of [PSK, 'rotated-key', 'third-key']) expect(text).not.toContain(secret);
    await client(3).delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: replaced.endpointId! } } });
  });

  it('ensureIpsecEndpoint on a VTI: a changed remote network moves the route into the tunnel, an unset extra option is left alone', async () => {
    const spec = { name: 'vti-only', remoteIp: '203.0.113.20', psk: PSK, vtiAddress: '169.254.200.1/30', remoteNetworks: ['192.168.50.0/24'] };
    const first = await ensureIpsecEndpoint(client(3), spec);
    expect(first.plan.routes.create).toEqual(['192.168.50.0/24']);
    const tunnel = first.tunnelIds[0];
    // Someone adds an extra option by hand: a spec that does not name extraConfig leaves it.
    await client(3).put('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: first.endpointId! } }, body: { extra_config: 'dpdaction=restart' } });
    mesh.sim.resetCounters();
    const moved = await ensureIpsecEndpoint(client(3), { ...spec, remoteNetworks: ['192.168.60.0/24'] });
    expect(moved.plan).toMatchObject({ endpoint: 'unchanged', routes: { create: ['192.168.60.0/24'], remove: [{ cidr: '192.168.50.0/24' }] } });
    expect(mesh.sim.totalWrites()).toBe(2);
    const viaTunnel = Object.values(await client(3).get('/routes')).filter((r) => r.tunnel !== undefined && r.editable !== false);
    expect(viaTunnel.map((r) => [r.cidr, typeof r.tunnel === 'object' ? r.tunnel?.id : r.tunnel])).toEqual([['192.168.60.0/24', tunnel]]);
    mesh.sim.resetCounters();
    expect((await ensureIpsecEndpoint(client(3), { ...spec, remoteNetworks: ['192.168.60.0/24'] })).writes).toBe(0);
    expect(mesh.sim.totalWrites()).toBe(0);
    await client(3).delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: first.endpointId! } } });
    for (const r of viaTunnel) await client(3).delete('/routes/{route_id}', { params: { path: { route_id: r.id! } } });
  });

  it('bridgeControllers builds both VTI ends, waits until connected, routes the other side, and a second run writes nothing', async () => {
    const a = { client: client(0), networks: ['10.1.0.0/16'] };
    const b = { client: client(1), networks: ['10.2.0.0/16'] };
    const events: Vns3Event[] = [];
    const first = await bridgeControllers({ a, b, psk: PSK, name: 'aws-azure' }, { ...FAST, onEvent: (e) => events.push(e) });
    expect(first.failed).toEqual([]);
    const [sa, sb] = first.succeeded.map((s) => s.value);
    expect([sa?.vtiAddress, sb?.vtiAddress]).toEqual(['169.254.0.1/30', '169.254.0.2/30']);
    expect(sa?.connected && sb?.connected).toBe(true);
    const routeA = Object.values(await client(0).get('/routes')).find((r) => r.cidr === '10.2.0.0/16');
    expect(routeA).toMatchObject({ tunnel: { id: sa?.tunnelIds[0] } });

    mesh.sim.resetCounters();
    const second = await bridgeControllers({ a, b, psk: PSK, name: 'aws-azure' }, FAST);
    expect(second.failed).toEqual([]);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect(JSON.stringify(events)).not.toContain(PSK);
  });

  it('a second bridge gets a /30 that collides with no VTI on either side', async () => {
    const result = await bridgeControllers({ a: { client: client(0) }, b: { client: client(2) }, psk: PSK, name: 'second' }, FAST);
    expect(result.failed).toEqual([]);
    expect(result.succeeded.map((s) => s.value.vtiAddress)).toEqual(['169.254.0.5/30', '169.254.0.6/30']);
    // Pure allocation: the /30s used by other endpoints on either side are skipped.
    const used = (name: string, address: string) => ({ id: 1, name, ipaddress: '192.0.2.1', tunnels: {}, route_based_int_address: address });
    expect(allocateVti('169.254.0.0/29', 'x', [used('p', '169.254.0.1/30')], [])).toEqual({ a: '169.254.0.5/30', b: '169.254.0.6/30' });
    expect(() => allocateVti('169.254.0.0/30', 'x', [], [used('q', '169.254.0.2/30')])).toThrow(Vns3ValidationError);
  });

  it('a key mismatch never connects: each controller is reported failed with "authentication failed"', async () => {
    // Two teams configure their own side, with keys that differ.
    await ensureIpsecEndpoint(client(2), { name: 'partner', remoteIp: publicIp(3), psk: 'team-c-key', vtiAddress: '169.254.9.1/30' });
    await ensureIpsecEndpoint(client(3), { name: 'partner', remoteIp: publicIp(2), psk: 'team-d-key', vtiAddress: '169.254.9.2/30' });
    const result = await waitForIpsecEndpoints([client(2), client(3)], 'partner', FAST);
    expect(result.succeeded).toEqual([]);
    expect(result.failed.map((f) => f.controller)).toEqual([client(2).host, client(3).host]);
    for (const f of result.failed) {
      expect(f.error).toBeInstanceOf(Vns3WaitTimeoutError);
      expect(f.error.message).toContain('authentication failed (pre-shared key mismatch)');
      expect(f.error.message).not.toMatch(/team-[cd]-key/);
    }
    // One side takes the other's key: the tunnel comes up.
    await ensureIpsecEndpoint(client(3), { name: 'partner', remoteIp: publicIp(2), psk: 'team-c-key', vtiAddress: '169.254.9.2/30' });
    expect((await waitForIpsecEndpoints([client(2), client(3)], 'partner', FAST)).failed).toEqual([]);
    for (const i of [2, 3]) {
      const ep = Object.values((await client(i).get('/ipsec')).remote_endpoints).find((e) => e.name === 'partner')!;
      await client(i).delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: ep.id } } });
    }
  });

  it('a partitioned underlay is reported per controller, and the bridge comes up once healed', async () => {
    const bridge = { a: { client: client(1) }, b: { client: client(2) }, psk: PSK, name: 'cut' };
    mesh.sim.partition(1, 2);
    const cut = await bridgeControllers(bridge, FAST);
    expect(cut.succeeded).toEqual([]);
    expect(cut.failed.map((f) => f.controller)).toEqual([client(1).host, client(2).host]);
    for (const f of cut.failed) {
      expect(f.error).toBeInstanceOf(Vns3WaitTimeoutError);
      expect(f.error.message).toContain('underlay path closed');
    }
    mesh.sim.heal(1, 2);
    mesh.sim.resetCounters();
    const healed = await bridgeControllers(bridge, FAST);
    expect(healed.failed).toEqual([]);
    // Everything was written by the first run; healing needed no write.
    expect(mesh.sim.totalWrites()).toBe(0);
  });
});
