import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../src/client/errors.js';
import type { Vns3Event } from '../../src/events.js';
import { Vns3MeshNotReadyError, waitForMesh, peerMesh, peeringEntries, setPeerIds, createPeerMeshLocalGatewayRoutes, createRouteAdvertisements, ensureRouteTable, fetchStates, StateCache } from '../../src/macros/index.js';
import { licenseMesh, startTestMesh, type TestMesh } from '../../src/testing/index.js';

const WAIT = { timeoutMs: 10_000, intervalMs: 20, maxIntervalMs: 200 };

describe('peering mesh from fresh controllers (4 controllers, license for 5)', () => {
  let mesh: TestMesh;
  let subnets: string[];

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 4 });
    subnets = mesh.sim.controllers.map((c) => c.identity.subnet);
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('licenses, keys, peers and routes the mesh; a second run of the whole flow writes nothing', async () => {
    const events: Vns3Event[] = [];
    const onEvent = (e: Vns3Event): void => void events.push(e);
    const runFlow = async () => {
      await licenseMesh(mesh, { licensedControllers: 5 });
      const cache = new StateCache();
      const ids = await setPeerIds(mesh.clients, { cache, onEvent });
      const peers = await peerMesh(mesh.clients, { cache, onEvent });
      const gw = await createPeerMeshLocalGatewayRoutes(mesh.clients, { subnets }, { cache });
      const adv = await createRouteAdvertisements(mesh.clients, { subnets }, { cache });
      const links = await waitForMesh(mesh.clients, { ...WAIT, cache });
      return { ids, peers, gw, adv, links };
    };

    const first = await runFlow();
    expect(first.ids.failed).toEqual([]);
    expect(first.ids.succeeded.map((s) => s.value)).toEqual([1, 2, 3, 4].map((id) => ({ id, changed: true })));
    expect(first.peers.failed).toEqual([]);
    for (const [i, s] of first.peers.succeeded.entries()) {
      expect(s.value.added.sort()).toEqual([1, 2, 3, 4].filter((id) => id !== i + 1));
      expect(s.value.unchanged).toEqual([]);
    }
    expect(first.gw.succeeded.map((s) => s.value.created.length)).toEqual([3, 3, 3, 3]);
    expect(first.adv.succeeded.map((s) => s.value.created.length)).toEqual([1, 1, 1, 1]);
    expect(first.links).toHaveLength(12);
    expect(first.links.every((l) => l.reachable)).toBe(true);

    // Peers are configured by private IP, and every controller learned every other subnet.
    const p1 = peeringEntries(await mesh.clients[0]!.get('/peering'));
    expect(p1.get(3)?.address).toBe(mesh.sim.controllers[2]!.identity.privateIp);
    for (const [i, client] of mesh.clients.entries()) {
      const routes = Object.values(await client.get('/routes'));
      const learned = routes.filter((r) => r.editable === false).map((r) => r.cidr);
      expect(learned.sort()).toEqual(subnets.filter((_, j) => j !== i).sort());
      const gateway = routes.filter((r) => r.interface === 'eth0' && r.cidr.endsWith('/32'));
      expect(gateway.map((r) => r.gateway)).toEqual([0, 1, 2].map(() => mesh.sim.controllers[i]!.identity.subnet.replace(/0\/24$/, '1')));
    }

    mesh.sim.resetCounters();
    const second = await runFlow();
    expect(mesh.sim.totalWrites()).toBe(0);
    expect(second.ids.succeeded.every((s) => !s.value.changed)).toBe(true);
    expect(second.peers.succeeded.map((s) => s.value.unchanged.length)).toEqual([3, 3, 3, 3]);
    expect(second.gw.succeeded.every((s) => s.value.created.length === 0 && s.value.unchanged.length === 3)).toBe(true);
    expect(second.adv.succeeded.every((s) => s.value.created.length === 0)).toBe(true);
    expect(events.some((e) => e.step === 'peering.peer' && /added peer 2/.test(e.detail ?? ''))).toBe(true);
  });

  it('rejects duplicate, non-integer and out-of-range peer ids before any write', async () => {
    mesh.sim.resetCounters();
    const bad: [number[], RegExp][] = [
      [[1, 2, 2, 4], /ids\[2\].*duplicate of ids\[1\]/],
      [[1, 2, 3.5, 4], /ids\[2\].*whole number/],
      [[0, 1, 2, 3], /ids\[0\]/],
      [[1, 2, 3, 6], /ids\[3\].*1 to 5/],
      [[1, 2, 3], /one id per client/],
    ];
    for (const [ids, message] of bad) {
      const err = await setPeerIds(mesh.clients, { ids }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Vns3ValidationError);
      expect((err as Error).message).toMatch(message);
    }
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('never plans to remove learned routes', async () => {
    const plan = await ensureRouteTable(mesh.clients[0]!, [], { removeUndesired: true, dryRun: true });
    expect(plan.removed.map((r) => r.cidr).sort()).toEqual([...subnets.slice(1).map((s) => s.replace(/\.1\.0\/24$/, '.1.10/32')), subnets[0]!].sort());
  });

  it('corrects a changed peer address and MTU, keeps extras unless asked, removes them when asked', async () => {
    const [c1] = mesh.clients;
    await c1!.put('/peering/peers/{peer_id}', { params: { path: { peer_id: 2 } }, body: { name: '192.0.2.99' } });
    await c1!.post('/peering/peers', { body: { id: 5, name: 'old-controller.example' } });
    mesh.sim.resetCounters();

    const fixed = await peerMesh(mesh.clients);
    expect(fixed.failed).toEqual([]);
    expect(fixed.succeeded[0]!.value).toMatchObject({ updated: [2], added: [], removed: [], extra: [5] });
    expect(fixed.succeeded.slice(1).every((s) => s.value.updated.length === 0 && s.value.extra.length === 0)).toBe(true);
    expect(mesh.sim.totalWrites()).toBe(1);

    mesh.sim.resetCounters();
    const mtu = await peerMesh(mesh.clients, { mtu: 1400, removeExtra: true });
    expect(mtu.succeeded[0]!.value.removed).toEqual([5]);
    expect(mtu.succeeded.map((s) => s.value.updated.length)).toEqual([3, 3, 3, 3]);
    expect(mesh.sim.totalWrites()).toBe(13);
    expect(peeringEntries(await c1!.get('/peering')).get(4)?.mtu).toBe('1400');

    mesh.sim.resetCounters();
    await peerMesh(mesh.clients, { mtu: 1400, removeExtra: true });
    expect(mesh.sim.totalWrites()).toBe(0);
    await waitForMesh(mesh.clients, WAIT);
  });

  it('validates the address choice before any write', async () => {
    mesh.sim.resetCounters();
    const partial = Object.fromEntries(mesh.clients.slice(1).map((c) => [c.host, '10.200.0.1']));
    const err = await peerMesh(mesh.clients, { address: partial }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3ValidationError);
    expect((err as Vns3ValidationError).field).toBe(`address[${JSON.stringify(mesh.clients[0]!.host)}]`);
    await expect(peerMesh(mesh.clients, { mtu: 100 })).rejects.toThrow(/mtu/);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('waitForMesh names each link a partition cuts, and succeeds once healed', async () => {
    mesh.sim.partition(0, 2);
    try {
      const err = await waitForMesh(mesh.clients, { timeoutMs: 600, intervalMs: 20, maxIntervalMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Vns3MeshNotReadyError);
      const e = err as Vns3MeshNotReadyError;
      expect(e.message).toContain(`vns3-1 (id 1) -> id 3 at ${mesh.sim.controllers[2]!.identity.privateIp}: not reachable`);
      expect(e.message).toContain(`vns3-3 (id 3) -> id 1 at ${mesh.sim.controllers[0]!.identity.privateIp}: not reachable`);
      expect(e.problems).toHaveLength(2);
    } finally {
      mesh.sim.healAll();
    }
    const links = await waitForMesh(mesh.clients, WAIT);
    expect(links.filter((l) => l.reachable)).toHaveLength(12);
  });
});

describe('peerMesh with a controller crashing', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 3 });
    await licenseMesh(mesh);
    const ids = await setPeerIds(mesh.clients);
    expect(ids.failed).toEqual([]);
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('reports the crashed controller as failed while the others end configured', async () => {
    const crashed = mesh.clients[1]!;
    let crashing: Promise<void> | undefined;
    // Crash right after the states were read, i.e. in the middle of peerMesh.
    const onEvent = (e: Vns3Event): void => {
      if (e.step === 'state.fetch' && e.controller === '*') crashing ??= mesh.sim.crash(1);
    };
    const result = await peerMesh(mesh.clients, { onEvent, delayConfigure: true, retryBudget: { attempts: 2, minDelayMs: 10 } });
    await crashing;
    expect(result.failed.map((f) => f.controller)).toEqual([crashed.host]);
    expect(result.succeeded.map((s) => s.controller)).toEqual([mesh.clients[0]!.host, mesh.clients[2]!.host]);
    expect(result.succeeded[0]!.value.added).toEqual([2, 3]);
    expect(result.succeeded[1]!.value.added).toEqual([1, 2]);

    // The survivors have each other up; the link to the dead one is named.
    const err = await waitForMesh(mesh.clients, { timeoutMs: 500, intervalMs: 20, maxIntervalMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3MeshNotReadyError);
    expect((err as Error).message).toContain(`(${crashed.host}): peering status unknown`);
    expect((err as Error).message).not.toMatch(/\(id 1\) -> id 3|\(id 3\) -> id 1/);

    await mesh.sim.restore(1);
    mesh.sim.resetCounters();
    const again = await peerMesh(mesh.clients);
    expect(again.failed).toEqual([]);
    expect(again.succeeded.map((s) => s.value.added)).toEqual([[], [1, 3], []]);
    expect(mesh.sim.totalWrites()).toBe(2);
    const links = await waitForMesh(mesh.clients, WAIT);
    expect(links).toHaveLength(6);
  });

  it('fails a controller whose peer id is not set, without stopping the others', async () => {
    const fresh = await startTestMesh({ controllers: 2 });
    try {
      await licenseMesh(fresh);
      fresh.sim.resetCounters();
      const states = await fetchStates(fresh.clients);
      expect(states.succeeded.every((s) => s.value.peerId === undefined)).toBe(true);
      const r = await peerMesh(fresh.clients);
      expect(r.failed.map((f) => f.error.message)).toEqual([expect.stringMatching(/not set; run setPeerIds/), expect.stringMatching(/not set; run setPeerIds/)]);
      expect(fresh.sim.totalWrites()).toBe(0);
    } finally {
      await fresh.stop();
    }
  });
});
