import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf, licenseRoot, waitFor } from './steps.js';
import { sleep } from '../../../src/abort.js';

type TunnelView = { id: number; connected: boolean; local_subnet?: string; remote_subnet?: string; tunnel_params?: { phase1?: string } };

describe('simulator: IPsec', () => {
  let mesh: TestMesh;
  const publicIp = (i: number): string => mesh.sim.controllers[i]!.identity.publicIp;
  const client = (i: number) => mesh.clients[i]!;
  const statusOf = async (i: number): Promise<TunnelView[]> => Object.values(await client(i).get('/status/ipsec')) as TunnelView[];
  const waitTunnel = (i: number, connected: boolean) =>
    waitFor(`tunnel on ${i} connected=${connected}`, () => statusOf(i), (ts) => ts.length > 0 && ts.every((t) => t.connected === connected));

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 3 });
    // IPsec needs licensed controllers, not a shared keyset.
    await Promise.all([0, 1, 2].map((i) => licenseRoot(mesh, i)));
  });
  afterAll(async () => mesh?.stop());

  it('a policy-based tunnel comes up only when both ends match, follows the fabric, and routes its remote subnet while up', async () => {
    const a = client(0);
    const b = client(1);
    const epA = await a.post('/ipsec/endpoints', { body: { name: 'to-b', ipaddress: publicIp(1), secret: 'shared-1', ike_version: 2 } });
    await a.post('/ipsec/endpoints/{endpoint_id}/tunnels', { params: { path: { endpoint_id: epA.id } }, body: { local_subnet: '10.1.0.0/16', remote_subnet: '10.2.0.0/16' } });
    // One side only: never up, and the status says why.
    await sleep(mesh.sim.timings.peerLinkUpMs * 3);
    const [lonely] = await statusOf(0);
    expect(lonely).toMatchObject({ connected: false, local_subnet: '10.1.0.0/16', remote_subnet: '10.2.0.0/16' });
    expect(lonely?.tunnel_params?.phase1).toContain('no matching peer config');

    const epB = await b.post('/ipsec/endpoints', { body: { name: 'to-a', ipaddress: publicIp(0), secret: 'shared-1', ike_version: 2 } });
    await b.post('/ipsec/endpoints/{endpoint_id}/tunnels', { params: { path: { endpoint_id: epB.id } }, body: { local_subnet: '10.2.0.0/16', remote_subnet: '10.1.0.0/16' } });
    await waitTunnel(0, true);
    await waitTunnel(1, true);

    const routes = Object.values(await a.get('/routes'));
    expect(routes.find((r) => r.cidr === '10.2.0.0/16')).toMatchObject({ interface: 'ipsec', editable: false });
    expect(await a.get('/status/connected_subnets')).toContainEqual(['10.2.0.0', '255.255.0.0']);
    expect(await a.get('/status/connected_subnets', { params: { query: { extended_output: true } } })).toContainEqual(
      expect.objectContaining({ subnet: '10.2.0.0/16', origin: 'ipsec' }),
    );

    // A partition drops the tunnel and its route; healing brings both back.
    mesh.sim.partition(0, 1);
    const [down] = await waitTunnel(0, false);
    expect(down?.tunnel_params?.phase1).toContain('underlay path closed');
    expect(Object.values(await a.get('/routes')).some((r) => r.cidr === '10.2.0.0/16')).toBe(false);
    mesh.sim.heal(0, 1);
    await waitTunnel(0, true);

    const history = await a.get('/status/link_history', { params: { query: { remote: '10.2.0.0/16' } } });
    expect(history.history.map((h) => h.event.split(':')[0])).toEqual(['up', 'down', 'up']);
    expect((await apiErrorOf(a.get('/status/link_history', { params: { query: { remote: '10.2.0/16' } } }))).apiMessage).toBe('bad or invalid remote');

    await a.delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: epA.id } } });
    await b.delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: epB.id } } });
  });

  it('a mismatched pre-shared key never connects, and says so; fixing it in place brings the tunnel up', async () => {
    const a = client(0);
    const c = client(2);
    const vti = (address: string) => ({ vpn_type: 'vti' as const, route_based_int_address: address, ike_version: 2 as const });
    const epA = await a.post('/ipsec/endpoints', { body: { name: 'to-c', ipaddress: publicIp(2), secret: 'right', ...vti('169.254.10.1/30') } });
    const epC = await c.post('/ipsec/endpoints', { body: { name: 'to-a', ipaddress: publicIp(0), secret: 'wrong', ...vti('169.254.10.2/30') } });
    expect(Object.keys(epA.tunnels)).toHaveLength(1);
    await sleep(mesh.sim.timings.peerLinkUpMs * 3);
    const [failed] = await statusOf(0);
    expect(failed?.connected).toBe(false);
    expect(failed?.tunnel_params?.phase1).toBe('authentication failed (pre-shared key mismatch)');

    await c.put('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: epC.id } }, body: { secret: 'right' } });
    await waitTunnel(0, true);
    // While up, the VTI's /30 is a route on its interface.
    const tunnelId = Number(Object.keys(epA.tunnels)[0]);
    expect(Object.values(await a.get('/routes')).find((r) => r.cidr === '169.254.10.0/30')).toMatchObject({ interface: `vti${tunnelId}` });

    // An IKE version mismatch is refused too.
    await c.put('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: epC.id } }, body: { ike_version: 1 } });
    const [mismatch] = await waitTunnel(0, false);
    expect(mismatch?.tunnel_params?.phase1).toContain('IKE version mismatch');
    await a.delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: epA.id } } });
    await c.delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: epC.id } } });
  });

  it('reads string booleans as the Python SDK sends them, and routes by the tunnel id it sends as a string', async () => {
    const b = client(1);
    // Exactly the body cohesivenet's ipsec.create_tunnel_endpoint sends.
    const endpoint = await b.post('/ipsec/endpoints', {
      body: {
        name: 'py-tunnel',
        ipaddress: publicIp(2),
        secret: 'py-secret',
        pfs: true,
        ike_version: 2,
        nat_t_enabled: 'False',
        extra_config: 'local-peer-id=198.18.0.2',
        vpn_type: 'vti',
        route_based_int_address: '169.254.20.0/30',
        route_based_local: '0.0.0.0/0',
        route_based_remote: '0.0.0.0/0',
      } as never,
    });
    expect(endpoint).toMatchObject({ nat_t_enabled: false, pfs: true, vpn_type: 'vti', extra_config: ['local-peer-id=198.18.0.2'] });
    const tunnelKey = Object.keys(endpoint.tunnels)[0]!;
    await b.post('/routes', { body: { cidr: '10.3.0.0/16', description: 'Route to C via tunnel', tunnel: tunnelKey, advertise: 'False', gateway: '', metric: 0 } as never });
    const route = Object.values(await b.get('/routes')).find((r) => r.cidr === '10.3.0.0/16');
    expect(route).toMatchObject({ advertise: false, tunnel: { id: Number(tunnelKey) } });
    await b.delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: endpoint.id } } });
  });

  it('traffic pairs, eBGP peers and the errors the reference gives', async () => {
    const a = client(0);
    const ep = await a.post('/ipsec/endpoints', { body: { name: 'dc', ipaddress: '203.0.113.9', secret: 's' } });
    const path = { endpoint_id: ep.id };
    const pair = await a.post('/ipsec/endpoints/{endpoint_id}/traffic_pairs', { params: { path }, body: { local_subnet: '10.1.0.0/16', remote_subnet: '192.168.0.0/24' } });
    expect(pair).toMatchObject({ enabled: true, endpoint_id: ep.id });
    const off = await a.put('/ipsec/endpoints/{endpoint_id}/traffic_pairs/{pair_id}/disable', { params: { path: { ...path, pair_id: pair.id } } });
    expect(off.enabled).toBe(false);
    const on = await a.put('/ipsec/endpoints/{endpoint_id}/traffic_pairs/{pair_id}/enable', { params: { path: { ...path, pair_id: pair.id } } });
    expect(on.enabled).toBe(true);
    expect((await apiErrorOf(a.post('/ipsec/endpoints/{endpoint_id}/traffic_pairs', { params: { path: { endpoint_id: 999 } }, body: { local_subnet: '10.0.0.0/8', remote_subnet: '10.0.0.0/8' } }))).status).toBe(404);
    const tunnelErr = await apiErrorOf(a.post('/ipsec/endpoints/{endpoint_id}/tunnels', { params: { path }, body: { remote_subnet: '10.0.0/8' } }));
    expect([tunnelErr.status, tunnelErr.apiMessage]).toEqual([400, 'remote_subnet is invalid CIDR']);
    expect((await apiErrorOf(a.post('/ipsec/endpoints', { body: { name: 'x', ipaddress: 'nope', secret: 's' } }))).apiMessage).toBe('ipaddress is invalid');

    const withPeer = await a.post('/ipsec/endpoints/{endpoint_id}/ebgp_peers', { params: { path }, body: { ipaddress: '169.254.30.2', asn: 64512, bgp_password: 'p' } });
    const peerId = Number(Object.keys(withPeer.bgp_peers ?? {})[0]);
    const peer = await a.get('/ipsec/endpoints/{endpoint_id}/ebgp_peers/{bgp_peer_id}', { params: { path: { ...path, bgp_peer_id: peerId } } });
    expect(peer).toMatchObject({ asn: 64512, connection_detail: 'Active' });
    expect((await apiErrorOf(a.post('/ipsec/endpoints/{endpoint_id}/ebgp_peers', { params: { path }, body: { ipaddress: '169.254.30.6', asn: 0 } }))).apiMessage).toBe('asn is invalid');
    await a.delete('/ipsec/endpoints/{endpoint_id}/ebgp_peers/{bgp_peer_id}', { params: { path: { ...path, bgp_peer_id: peerId } } });
    const after = await a.delete('/ipsec/endpoints/{endpoint_id}', { params: { path } });
    expect(after.remote_endpoints).toEqual({});
    expect((await apiErrorOf(a.get('/ipsec/endpoints/{endpoint_id}', { params: { path } }))).apiMessage).toBe('endpoint_id does not exist');
    expect((await a.get('/ipsec')).this_endpoint).toMatchObject({ ipaddress: publicIp(0) });
  });
});
