import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError, type RequestEvent } from '../../src/client/index.js';
import { licenseMesh, startTestMesh, type TestMesh } from '../../src/testing/index.js';

describe('startTestMesh + licenseMesh', () => {
  let mesh: TestMesh;
  const events: RequestEvent[] = [];
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 3, client: { onRequest: (e) => events.push(e) } });
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('gives one pinned client per controller with the caller\'s client options', async () => {
    expect(mesh.clients).toHaveLength(3);
    events.length = 0;
    const config = await mesh.clients[2]!.get('/config');
    expect(config.private_ipaddress).toBe(mesh.sim.controllers[2]!.identity.privateIp);
    expect(events.map((e) => `${e.method} ${e.status}`)).toEqual(['GET 200']);
  });

  it('licenses every controller with one keyset through the macros', async () => {
    await licenseMesh(mesh, { token: 'mesh-test-token' });
    expect(mesh.sim.controllers.map((c) => c.licensed)).toEqual([true, true, true]);
    const checksums = await Promise.all(mesh.clients.map(async (c) => (await c.get('/keyset')).checksum));
    expect(new Set(checksums).size).toBe(1);
    expect(checksums[0]).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses a mesh without clients', async () => {
    await expect(licenseMesh({ sim: mesh.sim, clients: [] })).rejects.toThrow(Vns3ValidationError);
  });
});

describe('startTestMesh stop()', () => {
  it('closes the clients and the simulation', async () => {
    const mesh = await startTestMesh({ controllers: 1 });
    const client = mesh.clients[0]!;
    await mesh.stop();
    await expect(client.get('/config')).rejects.toThrow();
  });
});
