import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf, keyAll } from './steps.js';

describe('simulator: interfaces', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2, subnets: ['10.20.1.0/24', '172.16.8.16/28'] });
  });
  afterAll(async () => mesh?.stop());

  it('lists eth0, lo, the IPsec loopback, tun0 and plugin0 from the controller identity', async () => {
    const [c1] = mesh.clients;
    const id = mesh.sim.controllers[0]!.identity;
    const list = await c1!.get('/interfaces');
    expect(list.map((i) => i.name)).toEqual(['eth0', 'lo', 'eth0:0', 'tun0', 'plugin0']);
    const eth0 = list[0]!;
    expect(eth0).toMatchObject({ ip_internal: id.privateIp, ip_external: id.publicIp, mask_bits: '24', gateway: '10.20.1.1', status: 'Up', interface_type: 'system' });
    expect(list.find((i) => i.name === 'eth0:0')?.ip_internal).toBe('10.20.1.230');
    expect(list.find((i) => i.name === 'plugin0')).toMatchObject({ ip_internal: '198.51.100.1', mask_bits: '28' });
    const tun0 = list.find((i) => i.name === 'tun0')!;
    expect(tun0.ip_internal).toBe(id.overlayIp);
    // Not licensed, no keyset: the overlay interface is down.
    expect(tun0.status).toBe('Down');
    expect(await c1!.get('/interfaces/system')).toEqual(list);
    expect(await c1!.get('/interfaces/edge_gre')).toEqual([]);
  });

  it('follows each controller: another subnet, no room for the loopback alias on a /28', async () => {
    const list = await mesh.clients[1]!.get('/interfaces');
    const eth0 = list.find((i) => i.name === 'eth0')!;
    expect(eth0).toMatchObject({ ip_internal: mesh.sim.controllers[1]!.identity.privateIp, mask_bits: '28', gateway: '172.16.8.17' });
    expect(list.some((i) => i.name === 'eth0:0')).toBe(false);
  });

  it('finds an interface by id or name, its addresses, and answers 404 for unknown ones', async () => {
    const [c1] = mesh.clients;
    const byName = await c1!.get('/interfaces/system/{interface_id}', { params: { path: { interface_id: 'eth0' } } });
    const byId = await c1!.get('/interfaces/system/{interface_id}', { params: { path: { interface_id: String(byName.id) } } });
    expect(byId).toEqual(byName);
    const addresses = await c1!.get('/interfaces/system/{interface_id}/addresses', { params: { path: { interface_id: 'eth0' } } });
    expect(addresses).toHaveLength(1);
    expect(addresses[0]).toMatchObject({ id: 1, ip_internal: byName.ip_internal, mask_bits: 24 });
    const one = await c1!.get('/interfaces/system/{interface_id}/addresses/{address_id}', { params: { path: { interface_id: 'eth0', address_id: 1 } } });
    expect(one).toEqual(addresses[0]);

    const missing = await apiErrorOf(c1!.get('/interfaces/system/{interface_id}', { params: { path: { interface_id: 'eth9' } } }));
    expect(missing.status).toBe(404);
    const noAddress = await apiErrorOf(c1!.get('/interfaces/system/{interface_id}/addresses/{address_id}', { params: { path: { interface_id: 'lo', address_id: 2 } } }));
    expect(noAddress.status).toBe(404);
    const gre = await apiErrorOf(c1!.get('/interfaces/edge_gre/{interface_id}', { params: { path: { interface_id: '1' } } }));
    expect(gre.status).toBe(404);
  });

  it('brings tun0 up once licensed with a keyset; writes it does not simulate are refused as not simulated', async () => {
    await keyAll(mesh);
    const tun0 = await mesh.clients[0]!.get('/interfaces/system/{interface_id}', { params: { path: { interface_id: 'tun0' } } });
    expect(tun0).toMatchObject({ status: 'Up', mask_bits: '26' });
    // Typed but not simulated (as monitoring is): the simulator's documented refusal, nothing written.
    const create = await apiErrorOf(mesh.clients[0]!.post('/interfaces/system', { body: { name: 'tun1:1' } }));
    expect(create.apiMessage).toMatch(/not simulated/);
    const webhooks = await apiErrorOf(mesh.clients[0]!.get('/webhooks'));
    expect(webhooks.apiMessage).toMatch(/not simulated/);
    expect((await mesh.clients[0]!.get('/interfaces')).map((i) => i.name)).not.toContain('tun1:1');
  });
});
