import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf, keyAll, waitFor, waitReachable } from './steps.js';
import { sleep } from '../../../src/abort.js';

type PeerView = { id: number; self?: boolean; reachable?: boolean; address?: string | null; not_set?: boolean };
type RouteView = { id: number; cidr: string; interface: string; gateway: string; advertise: boolean; enabled: boolean; editable?: boolean };

describe('simulator: peering and routes', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 3 });
    await keyAll(mesh);
  });
  afterAll(async () => mesh?.stop());

  const peersOf = async (i: number): Promise<Record<string, PeerView>> =>
    (await mesh.clients[i]!.get('/peering')).managers as Record<string, PeerView>;
  const routesOf = async (i: number): Promise<Record<string, RouteView>> =>
    (await mesh.clients[i]!.get('/routes')) as unknown as Record<string, RouteView>;

  it('links are reachable only when both sides configured each other; both maps are served', async () => {
    const [c1, c2, c3] = mesh.clients;
    const ip = (i: number): string => mesh.sim.controllers[i]!.identity.privateIp;
    for (const [i, c] of mesh.clients.entries()) await c.put('/peering/self', { body: { id: i + 1 } });

    const view = await c1!.get('/peering');
    expect(view.id).toBe(1);
    expect(view.controllers).toEqual(view.managers);
    expect((view.managers as Record<string, PeerView>)['1']?.self).toBe(true);
    expect((view.managers as Record<string, PeerView>)['2']?.not_set).toBe(true);

    await c1!.post('/peering/peers', { body: { id: 2, name: ip(1) } });
    // One direction only: never reachable, however long we look.
    await sleep(mesh.sim.timings.peerLinkUpMs * 3);
    expect((await peersOf(0))['2']?.reachable).toBe(false);

    await c2!.post('/peering/peers', { body: { id: 1, name: mesh.sim.controllers[0]!.identity.publicDns } });
    await waitReachable(c1!, 2, true);
    await waitReachable(c2!, 1, true);

    const duplicate = await apiErrorOf(c1!.post('/peering/peers', { body: { id: 2, name: ip(1) } }));
    expect(duplicate.status).toBe(400);
    expect(duplicate.apiMessage).toMatch(/already exists/);
    const outOfRange = await apiErrorOf(c1!.post('/peering/peers', { body: { id: 4, name: ip(2) } }));
    expect(outOfRange.status).toBe(400);
    expect(outOfRange.apiMessage).toMatch(/id/);
    const selfOutOfRange = await apiErrorOf(c3!.put('/peering/self', { body: { id: 9, force: true } }));
    expect(selfOutOfRange.status).toBe(400);

    // Complete the mesh for the rest of the suite.
    await c1!.post('/peering/peers', { body: { id: 3, name: ip(2) } });
    await c2!.post('/peering/peers', { body: { id: 3, name: ip(2) } });
    await c3!.post('/peering/peers', { body: { id: 1, name: ip(0) } });
    await c3!.post('/peering/peers', { body: { id: 2, name: ip(1) } });
    for (const [i, c] of mesh.clients.entries()) {
      for (let id = 1; id <= 3; id++) if (id !== i + 1) await waitReachable(c, id, true);
    }
  });

  it('a crash or a partition makes links unreachable; restore and heal bring them back', async () => {
    const [c1, c2] = mesh.clients;
    await mesh.sim.crash(2);
    await waitReachable(c1!, 3, false);
    await waitReachable(c2!, 3, false);
    expect((await peersOf(0))['2']?.reachable).toBe(true);
    await mesh.sim.restore(2);
    await waitReachable(c1!, 3, true);

    mesh.sim.partition(0, 1);
    await waitReachable(c1!, 2, false);
    await waitReachable(c2!, 1, false);
    mesh.sim.heal(0, 1);
    await waitReachable(c1!, 2, true);
    await waitReachable(c2!, 1, true);
  });

  it('changes and removes peers; unknown ids are 400 (the reference lists no 404 there)', async () => {
    const c1 = mesh.clients[0]!;
    const name = mesh.sim.controllers[2]!.identity.privateIp;
    const changed = await c1.put('/peering/peers/{peer_id}', { params: { path: { peer_id: 3 } }, body: { name, overlay_mtu: 1400 } });
    expect(String((changed.managers as Record<string, { mtu?: unknown }>)['3']?.mtu)).toBe('1400');
    const missing = await apiErrorOf(c1.delete('/peering/peers/{peer_id}', { params: { path: { peer_id: 3 } } }).then(() =>
      c1.delete('/peering/peers/{peer_id}', { params: { path: { peer_id: 3 } } }),
    ));
    expect(missing.status).toBe(400);
    expect(missing.apiMessage).toBe('Peer 3 not found.');
    expect((await peersOf(0))['3']?.not_set).toBe(true);
    await c1.post('/peering/peers', { body: { id: 3, name } });
    await waitReachable(c1, 3, true);
  });

  it('routes are a map keyed by id; `_notset`; enable, disable and delete', async () => {
    const c1 = mesh.clients[0]!;
    const map = (await c1.post('/routes', {
      body: { cidr: '192.168.10.0/24', description: 'local', interface: 'eth0', gateway: '_notset' },
    })) as unknown as Record<string, RouteView>;
    const [id, route] = Object.entries(map).find(([, r]) => r.cidr === '192.168.10.0/24')!;
    expect(route.id).toBe(Number(id));
    expect(route.gateway).toBe('_notset');
    expect(route.enabled).toBe(true);
    const noIface = (await c1.post('/routes', { body: { cidr: '192.168.11.0/24', gateway: '10.1.1.1' } })) as unknown as Record<string, RouteView>;
    expect(Object.values(noIface).find((r) => r.cidr === '192.168.11.0/24')?.interface).toBe('_notset');

    const disabled = await c1.put('/routes/{route_id}/disable', { params: { path: { route_id: Number(id) } } });
    expect(disabled.enabled).toBe(false);
    expect(disabled.cidr).toBe('192.168.10.0/24');
    expect((await routesOf(0))[id]?.enabled).toBe(false);
    await c1.put('/routes/{route_id}/enable', { params: { path: { route_id: Number(id) } } });
    expect((await routesOf(0))[id]?.enabled).toBe(true);
    const after = (await c1.delete('/routes/{route_id}', { params: { path: { route_id: Number(id) } } })) as unknown as Record<string, RouteView>;
    expect(after[id]).toBeUndefined();
    const gone = await apiErrorOf(c1.delete('/routes/{route_id}', { params: { path: { route_id: Number(id) } } }));
    // The reference: "bad route id or route not found" is a 400 on DELETE /routes/{route_id}.
    expect(gone.status).toBe(400);
    const params = { path: { route_id: Number(id) } };
    expect((await apiErrorOf(c1.put('/routes/{route_id}/enable', { params }))).status).toBe(400);
    expect((await apiErrorOf(c1.put('/routes/{route_id}/disable', { params }))).status).toBe(400);
  });

  it('advertised routes are learned by reachable peers and withdrawn on crash or partition', async () => {
    const c3 = mesh.clients[2];
    await c3!.post('/routes', { body: { cidr: '172.31.0.0/16', description: 'adv', advertise: true } });
    await c3!.post('/routes', { body: { cidr: '172.30.0.0/16', description: 'quiet', advertise: false } });
    const learned = (i: number) => async () => Object.values(await routesOf(i)).filter((r) => r.cidr === '172.31.0.0/16');
    const onC1 = await waitFor('c1 to learn the route', learned(0), (rs) => rs.length === 1);
    expect(onC1[0]?.editable).toBe(false);
    expect(onC1[0]?.gateway).toBe(mesh.sim.controllers[2]!.identity.overlayIp);
    expect(Object.values(await routesOf(1)).some((r) => r.cidr === '172.30.0.0/16')).toBe(false);
    await waitFor('c2 to learn the route', learned(1), (rs) => rs.length === 1);

    await mesh.sim.crash(2);
    await waitFor('c1 to drop the route', learned(0), (rs) => rs.length === 0);
    await mesh.sim.restore(2);
    await waitFor('c1 to learn it again', learned(0), (rs) => rs.length === 1);

    // Cut c3 off from both others: nothing carries its routes any more.
    mesh.sim.partition(2, 0);
    mesh.sim.partition(2, 1);
    await waitFor('c1 to drop the route', learned(0), (rs) => rs.length === 0);
    await waitFor('c2 to drop the route', learned(1), (rs) => rs.length === 0);
    mesh.sim.healAll();
    await waitFor('c2 to learn it again', learned(1), (rs) => rs.length === 1);
    // Withdrawing the advertisement at the source removes it from the peers too.
    const own = Object.values(await routesOf(2)).find((r) => r.cidr === '172.31.0.0/16')!;
    await c3!.put('/routes/{route_id}/disable', { params: { path: { route_id: own.id } } });
    await waitFor('c1 to drop the disabled route', learned(0), (rs) => rs.length === 0);
  });
});

describe('simulator: unfinalized peers (force: false)', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
    await keyAll(mesh);
  });
  afterAll(async () => mesh?.stop());

  it('a link added with force: false stays down until a later call finalizes it', async () => {
    const [c1, c2] = mesh.clients;
    const ip = (i: number): string => mesh.sim.controllers[i]!.identity.privateIp;
    await c1!.put('/peering/self', { body: { id: 1 } });
    await c2!.put('/peering/self', { body: { id: 2 } });
    await c1!.post('/peering/peers', { body: { id: 2, name: ip(1), force: false } });
    await c2!.post('/peering/peers', { body: { id: 1, name: ip(0) } });
    await sleep(mesh.sim.timings.peerLinkUpMs * 3);
    const before = (await c1!.get('/peering')).managers as Record<string, { reachable?: boolean }>;
    expect(before['2']?.reachable).toBe(false);
    // A reconfigure: any peer call with force (the default) finalizes what is pending.
    await c1!.put('/peering/peers/{peer_id}', { params: { path: { peer_id: 2 } }, body: { overlay_mtu: 1500, force: true } });
    await waitReachable(c1!, 2, true);
  });
});
