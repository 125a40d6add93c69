import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { Vns3ApiError } from '../../../src/client/index.js';
import { apiErrorOf, failureOf, peerAll, waitFor, waitLicensed, waitReachable } from './steps.js';

describe('simulator: runtime status and system administration', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2, subnets: ['10.30.1.0/24', '10.40.2.0/24'] });
  });
  afterAll(async () => mesh?.stop());

  it('refuses the runtime status before the license', async () => {
    const err = await apiErrorOf(mesh.clients[0]!.get('/status'));
    expect(err.status).toBe(403);
    expect(err.apiMessage).toBe('Must be licensed first.');
  });

  it('shows its own subnet, then the networks its peers advertise while the link is up', async () => {
    await peerAll(mesh);
    const [c1, c2] = mesh.clients;
    await waitReachable(c1!, 2, true);
    const alone = await c1!.get('/status');
    expect(alone).toEqual({ connected_clients: {}, connected_subnets: [['10.30.1.0', '255.255.255.0']], ipsec: {} });

    await c2!.post('/routes', { body: { cidr: '10.40.0.0/16', description: 'vpc', advertise: true } });
    const withPeer = await waitFor('the advertised network', () => c1!.get('/status'), (s) => s.connected_subnets.length === 2);
    expect(withPeer.connected_subnets).toEqual([
      ['10.30.1.0', '255.255.255.0'],
      ['10.40.0.0', '255.255.0.0'],
    ]);

    // Cut the underlay: the link drops, and with it the peer's network.
    mesh.sim.partition(0, 1);
    await waitReachable(c1!, 2, false);
    expect((await c1!.get('/status')).connected_subnets).toEqual([['10.30.1.0', '255.255.255.0']]);
    mesh.sim.heal(0, 1);
  });

  it('keeps the remote support setting', async () => {
    const c = mesh.clients[0]!;
    expect(await c.get('/remote_support')).toEqual({ enabled: false });
    expect(await c.put('/remote_support', { body: { enabled: true } })).toEqual({ enabled: true, revoke_credential: false });
    expect(await c.get('/remote_support')).toEqual({ enabled: true });
  });

  it('reboots on PUT /server {reboot: true} after answering, and refuses an empty action', async () => {
    const c = mesh.clients[1]!;
    expect((await apiErrorOf(c.put('/server', { body: {} }))).status).toBe(400);
    expect(await c.put('/server', { body: { reboot: true } })).toEqual({ status: 'rebooting' });
    // The reply went out first; the very next request finds the controller going down.
    const down = await failureOf(c.get('/config', { retry: false }));
    expect(down instanceof Vns3ApiError ? String(down.status) : 'connection').toMatch(/connection|502|503/);
    await waitLicensed(c);
  });
});
