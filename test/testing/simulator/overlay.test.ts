import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf, keyAll, waitKeyset, waitLicensed } from './steps.js';

describe('simulator: overlay clientpacks', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
  });
  afterAll(async () => mesh?.stop());

  it('refuses clientpack calls before the license with 403 Must be licensed first.', async () => {
    const err = await apiErrorOf(mesh.clients[0]!.get('/clientpacks'));
    expect(err.status).toBe(403);
    expect(err.apiMessage).toBe('Must be licensed first.');
  });

  it('has the licensed number of clientpacks from the bottom of the overlay subnet, the same on every peer', async () => {
    await keyAll(mesh);
    const packs = await mesh.clients[0]!.get('/clientpacks');
    const names = Object.keys(packs);
    // 100.127.255.192/26: 64 addresses less network, broadcast and one per licensed controller (2).
    expect(names).toHaveLength(60);
    expect(names[0]).toBe('100_127_255_193');
    expect(names.at(-1)).toBe('100_127_255_252');
    expect(packs['100_127_255_193']).toMatchObject({ overlay_ipaddress: '100.127.255.193', sequential_id: 1, enabled: true, checked_out: false, connected: false, tags: {} });
    // The peer fetched the same license and keyset: the same clientpacks, the same files.
    expect(await mesh.clients[1]!.get('/clientpacks')).toEqual(packs);
    const one = await mesh.clients[0]!.get('/clientpacks/{clientpack_name}', { params: { path: { clientpack_name: '100_127_255_200' } } });
    expect(one.clientpack).toEqual(packs['100_127_255_200']);
    const missing = await apiErrorOf(mesh.clients[0]!.get('/clientpacks/{clientpack_name}', { params: { path: { clientpack_name: '10_0_0_1' } } }));
    expect(missing.status).toBe(404);
    expect(await mesh.clients[0]!.get('/status/clients')).toEqual({});
  });

  it('downloads a clientpack as a small text file, by name or by name and format', async () => {
    const c = mesh.clients[0]!;
    const conf = await c.get('/clientpack', { params: { query: { name: '100_127_255_193', fileformat: 'conf' } } });
    expect(typeof conf).toBe('string');
    expect(conf).toContain('100.127.255.193');
    expect(conf).toContain(`remote ${mesh.sim.controllers[0]!.identity.publicIp} 1194`);
    expect(await c.get('/clientpack/{clientpack_name}', { params: { path: { clientpack_name: '100_127_255_193' } } })).toBe(conf);
    const tarball = await c.raw.GET('/clientpack', { params: { query: { name: '100_127_255_193', fileformat: 'tar.gz' } }, parseAs: 'text' });
    expect(tarball.response.headers.get('content-type')).toBe('application/octet-stream');
    expect(tarball.data).toContain('(tar.gz)');
    expect((await apiErrorOf(c.get('/clientpack', { params: { query: { name: '10_0_0_1', fileformat: 'conf' } } }))).status).toBe(404);
  });

  it('sets, replaces and removes tags; a bad key or an unknown clientpack is refused', async () => {
    const c = mesh.clients[0]!;
    const path = { clientpack_name: '100_127_255_194' };
    expect(await c.post('/clientpack/{clientpack_name}', { params: { path }, body: { key: 'group', value: 'web' } })).toEqual({ name: path.clientpack_name, tags: { group: 'web' } });
    await c.post('/clientpack/{clientpack_name}', { params: { path }, body: { key: 'tier', value: '1' } });
    expect((await c.post('/clientpack/{clientpack_name}', { params: { path }, body: { key: 'group', value: 'db' } })).tags).toEqual({ group: 'db', tier: '1' });
    expect((await c.delete('/clientpack/{clientpack_name}', { params: { path }, body: { key: 'tier' } })).tags).toEqual({ group: 'db' });
    expect((await c.get('/clientpacks'))['100_127_255_194']?.tags).toEqual({ group: 'db' });

    expect((await apiErrorOf(c.delete('/clientpack/{clientpack_name}', { params: { path }, body: { key: 'tier' } }))).status).toBe(400);
    expect((await apiErrorOf(c.post('/clientpack/{clientpack_name}', { params: { path }, body: { key: 'bad key!', value: 'x' } }))).status).toBe(400);
    const unknown = await apiErrorOf(c.post('/clientpack/{clientpack_name}', { params: { path: { clientpack_name: 'nope' } }, body: { key: 'a', value: 'b' } }));
    expect(unknown.status).toBe(400);
    expect(unknown.apiMessage).toBe('Clientpack not found.');
  });

  it('enables, disables and checks out; next_available skips what is taken or disabled', async () => {
    const c = mesh.clients[0]!;
    const disabled = await c.put('/clientpack', { body: { name: '100_127_255_193', enabled: false } });
    expect(disabled).toMatchObject({ name: '100_127_255_193', enabled: false });
    const first = await c.post('/clientpacks/next_available', { body: {} });
    expect(first).toMatchObject({ name: '100_127_255_194', checked_out: true });
    const second = await c.post('/clientpacks/next_available', { body: { low_ip: '100.127.255.240' } });
    expect(second).toMatchObject({ name: '100_127_255_240', checked_out: true });
    const fromDisabled = await c.post('/clientpacks/next_available', { body: { include_disabled: true } });
    expect(fromDisabled).toMatchObject({ name: '100_127_255_193', enabled: false, checked_out: true });
    const none = await apiErrorOf(c.post('/clientpacks/next_available', { body: { low_ip: '100.127.255.240', high_ip: '100.127.255.240' } }));
    expect(none.status).toBe(400);
    expect(none.apiMessage).toBe('No clientpacks available.');

    expect(await c.put('/clientpacks', { body: { enabled: true, checked_out: false } })).toEqual({ enabled: true, checked_out: false });
    const all = Object.values(await c.get('/clientpacks'));
    expect(all.every((p) => p.enabled === true && p.checked_out === false)).toBe(true);
  });

  it('regenerates a clientpack as a background task whose token /status/task knows', async () => {
    const c = mesh.clients[0]!;
    const before = (await c.get('/clientpacks'))['100_127_255_195']!;
    const task = await c.put('/clientpack', { body: { name: '100_127_255_195', regenerate: true } });
    expect('token' in task).toBe(true);
    const token = (task as { token: string }).token;
    expect(await c.get('/status/task', { body: { token } })).toEqual({ task_status: 'done' });
    const after = (await c.get('/clientpacks'))['100_127_255_195']!;
    expect(after.conf_sha1).not.toBe(before.conf_sha1);
    expect((await apiErrorOf(c.get('/status/task', { body: { token: 'nope' } }))).status).toBe(400);
  });

  it('adds clientpacks for unused client addresses only', async () => {
    const c = mesh.clients[1]!;
    expect((await apiErrorOf(c.post('/clientpacks/add_clientpacks', { body: { requested_ips: '100.127.255.193' } }))).status).toBe(400);
    expect((await apiErrorOf(c.post('/clientpacks/add_clientpacks', { body: { requested_ips: '10.0.0.1' } }))).status).toBe(400);
    // The top addresses belong to the controllers.
    expect((await apiErrorOf(c.post('/clientpacks/add_clientpacks', { body: { requested_ips: '100.127.255.253' } }))).status).toBe(400);
    expect(await c.post('/clients/reset_all')).toEqual({ resetting: [] });
  });

  it('makes as many clientpacks as the license allows, and adds more on request', async () => {
    const small = await startTestMesh({ controllers: 1 });
    try {
      const c = small.clients[0]!;
      await c.put('/license', { body: small.sim.license({ clients: 5 }) });
      await c.put('/license/parameters', { body: { default: true } });
      await waitLicensed(c);
      await c.put('/keyset', { body: { token: 'small' } });
      await waitKeyset(c);
      expect(Object.keys(await c.get('/clientpacks'))).toEqual(['100_127_255_193', '100_127_255_194', '100_127_255_195', '100_127_255_196', '100_127_255_197']);
      await c.post('/clientpacks/add_clientpacks', { body: { requested_ips: '100.127.255.210, 100.127.255.211' } });
      const packs = await c.get('/clientpacks');
      expect(Object.keys(packs)).toHaveLength(7);
      expect(packs['100_127_255_211']).toMatchObject({ sequential_id: 7, enabled: true });
    } finally {
      await small.stop();
    }
  });
});
