import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../src/client/errors.js';
import { createLocalGatewayRoute, createPeerMeshLocalGatewayRoutes, createRouteAdvertisements, ensureRouteTable, type RouteSpec } from '../../src/macros/index.js';
import { licenseMesh, startTestMesh, type TestMesh } from '../../src/testing/index.js';

describe('routing macros', () => {
  let mesh: TestMesh;
  const localRoutes = async (i: number) => Object.values(await mesh.clients[i]!.get('/routes')).filter((r) => r.editable !== false);

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 3 });
    await licenseMesh(mesh);
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('ensureRouteTable substitutes variables, creates what is missing, and is idempotent', async () => {
    const client = mesh.clients[0]!;
    const id = mesh.sim.controllers[0]!.identity;
    const desired: RouteSpec[] = [
      { cidr: '{partner_ip}/32', interface: 'eth0', gateway: '{subnet_gateway}', description: 'to partner from {private_ip}' },
      { cidr: '192.0.2.0/24', interface: '', gateway: '_notset', advertise: true, description: 'advertised' },
      { cidr: '192.0.2.0/24', advertise: true }, // the same route again: counted once
    ];
    const variables = { partner_ip: '203.0.113.7' };
    mesh.sim.resetCounters();
    const first = await ensureRouteTable(client, desired, { variables });
    expect(first.created.map((r) => r.cidr)).toEqual(['203.0.113.7/32', '192.0.2.0/24']);
    expect(first.created[0]).toMatchObject({ gateway: id.subnet.replace(/0\/24$/, '1'), description: `to partner from ${id.privateIp}` });
    expect(mesh.sim.totalWrites()).toBe(2);
    const routes = await localRoutes(0);
    expect(routes.find((r) => r.cidr === '192.0.2.0/24')).toMatchObject({ advertise: true, gateway: '_notset', interface: '_notset', table: 'main' });

    mesh.sim.resetCounters();
    const second = await ensureRouteTable(client, desired, { variables });
    expect(second.created).toEqual([]);
    expect(second.unchanged).toHaveLength(2);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('ensureRouteTable on many controllers fills in each one\'s variables, and a bad template writes nothing', async () => {
    const desired: RouteSpec[] = [{ cidr: '203.0.113.64/26', interface: 'eth0', gateway: '{subnet_gateway}', description: 'many from {private_ip}' }];
    mesh.sim.resetCounters();
    const bad = await ensureRouteTable(mesh.clients, [{ cidr: '{nope}/32' }]).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Vns3ValidationError);
    expect(mesh.sim.totalWrites()).toBe(0);
    const first = await ensureRouteTable(mesh.clients, desired);
    expect(first.failed).toEqual([]);
    expect(first.succeeded.map((s) => s.value.created[0]?.gateway)).toEqual(mesh.sim.controllers.map((c) => c.identity.subnet.replace(/0\/24$/, '1')));
    expect(mesh.sim.totalWrites()).toBe(3);
    mesh.sim.resetCounters();
    const second = await ensureRouteTable(mesh.clients, desired);
    expect(second.succeeded.every((s) => s.value.created.length === 0 && s.value.unchanged.length === 1)).toBe(true);
    expect(mesh.sim.totalWrites()).toBe(0);
    // Leave the controllers as the other tests expect them.
    for (const [i, client] of mesh.clients.entries()) {
      for (const r of await localRoutes(i)) if (r.cidr === '203.0.113.64/26') await client.delete('/routes/{route_id}', { params: { path: { route_id: r.id! } } });
    }
  });

  it('dryRun plans without writing; removeUndesired deletes only routes not desired', async () => {
    const client = mesh.clients[1]!;
    await client.post('/routes', { body: { cidr: '198.51.100.0/24', interface: 'eth0', gateway: '10.2.1.1', description: 'stray' } });
    const keep: RouteSpec = { cidr: '172.16.0.0/12', interface: 'eth0', gateway: '{subnet_gateway}' };
    mesh.sim.resetCounters();
    const dry = await ensureRouteTable(client, [keep], { removeUndesired: true, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.created.map((r) => r.cidr)).toEqual(['172.16.0.0/12']);
    expect(dry.removed.map((r) => r.cidr)).toEqual(['198.51.100.0/24']);
    expect(mesh.sim.totalWrites()).toBe(0);

    const kept = await ensureRouteTable(client, [keep]);
    expect(kept.removed).toEqual([]);
    expect((await localRoutes(1)).map((r) => r.cidr).sort()).toEqual(['172.16.0.0/12', '198.51.100.0/24']);

    mesh.sim.resetCounters();
    const cleaned = await ensureRouteTable(client, [keep], { removeUndesired: true });
    expect(cleaned.removed.map((r) => r.cidr)).toEqual(['198.51.100.0/24']);
    expect(mesh.sim.totalWrites()).toBe(1);
    expect((await localRoutes(1)).map((r) => r.cidr)).toEqual(['172.16.0.0/12']);
  });

  it('rejects an unknown variable or a bad CIDR before any write, naming the field', async () => {
    mesh.sim.resetCounters();
    const unknown = await ensureRouteTable(mesh.clients[2]!, [
      { cidr: '10.50.0.0/16', interface: 'eth0', gateway: '{subnet_gateway}' },
      { cidr: '10.60.0.0/16', interface: 'eth0', gateway: '{nat_gateway}' },
    ]).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Vns3ValidationError);
    expect((unknown as Vns3ValidationError).field).toBe('routes[1].gateway');
    expect((unknown as Error).message).toMatch(/unknown variable \{nat_gateway\}/);
    expect((unknown as Error).message).toMatch(/subnet_gateway/); // lists what is known

    const badCidr = await ensureRouteTable(mesh.clients[2]!, [{ cidr: '{x}/33' }], { variables: { x: '10.0.0.0' } }).catch((e: unknown) => e);
    expect(badCidr).toBeInstanceOf(Vns3ValidationError);
    expect((badCidr as Vns3ValidationError).field).toBe('routes[0].cidr');
    await expect(ensureRouteTable(mesh.clients[2]!, [{ cidr: '10.0.0.0/8', gateway: 'router' }])).rejects.toThrow(/routes\[0\]\.gateway/);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('createLocalGatewayRoute routes via the subnet gateway on eth0, once', async () => {
    const client = mesh.clients[2]!;
    const subnet = mesh.sim.controllers[2]!.identity.subnet;
    mesh.sim.resetCounters();
    const first = await createLocalGatewayRoute(client, { cidr: '10.99.0.0/16', subnet });
    expect(first.created).toEqual([expect.objectContaining({ cidr: '10.99.0.0/16', interface: 'eth0', gateway: '10.3.1.1', advertise: false })]);
    const again = await createLocalGatewayRoute(client, { cidr: '10.99.0.0/16', subnet });
    expect(again.created).toEqual([]);
    expect(mesh.sim.totalWrites()).toBe(1);
    await expect(createLocalGatewayRoute(client, { cidr: '10.99.0.0/16', subnet: '10.3.1.0' })).rejects.toBeInstanceOf(Vns3ValidationError);
  });

  it('createRouteAdvertisements checks every private IP lies in its subnet before any write', async () => {
    const subnets = mesh.sim.controllers.map((c) => c.identity.subnet);
    mesh.sim.resetCounters();
    const wrong = [subnets[0]!, '10.77.0.0/16', subnets[2]!];
    const err = await createRouteAdvertisements(mesh.clients, { subnets: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3ValidationError);
    expect(err).toMatchObject({ field: 'subnets[1]', value: '10.77.0.0/16', controller: mesh.clients[1]!.host });
    await expect(createRouteAdvertisements(mesh.clients, { subnets: subnets.slice(1) })).rejects.toThrow(/one subnet per client/);
    await expect(createPeerMeshLocalGatewayRoutes(mesh.clients, { subnets: wrong })).rejects.toThrow(/subnets\[1\]/);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('replaces a non-advertised route to the subnet with an advertisement, then leaves it alone', async () => {
    const subnets = mesh.sim.controllers.map((c) => c.identity.subnet);
    await mesh.clients[0]!.post('/routes', { body: { cidr: subnets[0]!, description: 'not advertised', advertise: false } });
    mesh.sim.resetCounters();
    const r = await createRouteAdvertisements(mesh.clients, { subnets });
    expect(r.failed).toEqual([]);
    expect(r.succeeded[0]!.value.removed.map((x) => x.cidr)).toEqual([subnets[0]]);
    expect(r.succeeded.map((s) => s.value.created.length)).toEqual([1, 1, 1]);
    expect(mesh.sim.totalWrites()).toBe(4);
    const adv = (await localRoutes(0)).filter((x) => x.cidr === subnets[0]);
    expect(adv).toEqual([expect.objectContaining({ advertise: true, gateway: '_notset' })]);

    mesh.sim.resetCounters();
    const again = await createRouteAdvertisements(mesh.clients, { subnets });
    expect(again.succeeded.every((s) => s.value.created.length === 0 && s.value.unchanged.length === 1)).toBe(true);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('createPeerMeshLocalGatewayRoutes fails a crashed controller and configures the others', async () => {
    const subnets = mesh.sim.controllers.map((c) => c.identity.subnet);
    const ips = mesh.sim.controllers.map((c) => c.identity.privateIp);
    await mesh.sim.crash(2);
    try {
      // A small retry budget: the crashed controller stays down, so the others must not wait for it long.
      const r = await createPeerMeshLocalGatewayRoutes(mesh.clients, { subnets }, { retryBudget: { attempts: 2, minDelayMs: 10 } });
      expect(r.failed.map((f) => f.controller)).toEqual([mesh.clients[2]!.host]);
      // The crashed controller's address is unknown, so only the reachable pair is routed.
      expect(r.succeeded[0]!.value.created.map((x) => x.cidr)).toEqual([`${ips[1]}/32`]);
      expect(r.succeeded[1]!.value.created.map((x) => x.cidr)).toEqual([`${ips[0]}/32`]);
    } finally {
      await mesh.sim.restore(2);
    }
    const all = await createPeerMeshLocalGatewayRoutes(mesh.clients, { subnets });
    expect(all.failed).toEqual([]);
    expect(all.succeeded.map((s) => s.value.created.length)).toEqual([1, 1, 2]);
  });
});
