import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateCache, fetchStates, readControllerState } from '../../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';

describe('controller state', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 3 });
  });
  afterAll(async () => mesh?.stop());

  const requests = (i: number): number => mesh.sim.controllers[i]!.requestLog.length;

  it('reads the addresses, version, ASN and cloud identity a controller reports', async () => {
    const state = await readControllerState(mesh.clients[0]!);
    const id = mesh.sim.controllers[0]!.identity;
    expect(state).toMatchObject({
      host: mesh.clients[0]!.host,
      privateIp: id.privateIp,
      publicIp: id.publicIp,
      overlayIp: id.overlayIp,
      asn: id.asn,
      instanceId: id.instanceId,
      cloudType: 'ec2',
      licensed: false,
    });
    expect(state.vns3Version).toMatch(/^\d+\.\d+/);
    expect(state.peerId).toBeUndefined();
  });

  it('serves a second read from the cache and reads again only when asked', async () => {
    const cache = new StateCache();
    const client = mesh.clients[1]!;
    await cache.get(client);
    const after = requests(1);
    const again = await cache.get(client);
    expect(requests(1)).toBe(after);
    expect(again.privateIp).toBe(mesh.sim.controllers[1]!.identity.privateIp);
    await cache.get(client, { refresh: true });
    expect(requests(1)).toBeGreaterThan(after);
    const beforeInvalidate = requests(1);
    cache.invalidate(client);
    await cache.get(client);
    expect(requests(1)).toBeGreaterThan(beforeInvalidate);
  });

  it('does not cache a failed read', async () => {
    const cache = new StateCache();
    const client = mesh.clients[2]!;
    await mesh.sim.crash(2);
    await expect(cache.get(client, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow();
    await mesh.sim.restore(2);
    const state = await cache.get(client);
    expect(state.privateIp).toBe(mesh.sim.controllers[2]!.identity.privateIp);
  });

  it('fetches a mesh in parallel and reports each failure by controller', async () => {
    await mesh.sim.crash(1);
    try {
      const result = await fetchStates(mesh.clients, { concurrency: 3 });
      expect(result.succeeded.map((s) => s.controller)).toEqual([mesh.clients[0]!.host, mesh.clients[2]!.host]);
      expect(result.failed.map((f) => f.controller)).toEqual([mesh.clients[1]!.host]);
      expect(result.failed[0]!.error.message).toContain(mesh.clients[1]!.host);
    } finally {
      await mesh.sim.restore(1);
    }
  });
});
