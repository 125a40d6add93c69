import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Vns3Client } from '../../../src/client/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { AccessState, MASK } from '../../../src/testing/simulator/access-state.js';
import { apiErrorOf } from './steps.js';

describe('simulator: access (API tokens, access URLs, identity settings)', () => {
  let mesh: TestMesh;
  let admin: Vns3Client;
  const opened: Vns3Client[] = [];
  /** A client of controller 0 that authenticates with `token` in the api-token header only. */
  const withToken = (token: string): Vns3Client => {
    const c = mesh.sim.controllers[0]!;
    const client = createClient({ host: c.host, apiToken: token, fingerprint256: c.fingerprint256, retry: false });
    opened.push(client);
    return client;
  };
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 1 });
    admin = mesh.clients[0]!;
  });
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await mesh?.stop();
  });

  it('a created token authenticates in the api-token header; its secret is shown only at creation', async () => {
    const created = await admin.post('/access/token', { body: { name: 'ci', expires: 600 } });
    expect(created.token).toMatch(/^[0-9a-f]{48}$/);
    expect(created).toMatchObject({ name: 'ci', lifetime: '600', refreshes: false, expired: false });
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(600_000);

    const client = withToken(created.token!);
    expect((await client.get('/config')).vns3_version).toBeTruthy();

    const listed = (await admin.get('/access/tokens')).find((t) => t.id === created.id);
    expect(listed?.token).toBe(MASK);
    expect(listed?.last_accessed_ip).toBe('127.0.0.1');
    expect(listed?.last_accessed_at).not.toBeNull();
    const one = await admin.get('/access/token/{token_id}', { params: { path: { token_id: created.id } } });
    expect(one.token).toBe(MASK);
    expect(JSON.stringify(await admin.get('/access/tokens'))).not.toContain(created.token!);
  });

  it('PUT expires a token and DELETE revokes one: both answer 401 with the controller message', async () => {
    const a = await admin.post('/access/token', { body: { name: 'expire-me' } });
    const b = await admin.post('/access/token', { body: { token_name: 'revoke-me' } });
    expect(b.name).toBe('revoke-me');
    const ca = withToken(a.token!);
    const cb = withToken(b.token!);
    await ca.get('/config');
    await cb.get('/config');

    const expired = await admin.put('/access/token/{token_id}', { params: { path: { token_id: a.id } }, body: { expired: true } });
    expect(expired.expired).toBe(true);
    const e1 = await apiErrorOf(ca.get('/config'));
    expect([e1.status, e1.apiMessage]).toEqual([401, 'Invalid or expired token']);

    expect(await admin.delete('/access/token/{token_id}', { params: { path: { token_id: b.id } } })).toBe('Token deleted');
    const e2 = await apiErrorOf(cb.get('/config'));
    expect([e2.status, e2.apiMessage]).toEqual([401, 'Invalid or expired token']);
    // Expired tokens stay listed; deleted ones are gone.
    const ids = (await admin.get('/access/tokens')).map((t) => t.id);
    expect(ids).toContain(a.id);
    expect(ids).not.toContain(b.id);
    const missing = await apiErrorOf(admin.get('/access/token/{token_id}', { params: { path: { token_id: b.id } } }));
    expect([missing.status, missing.apiMessage]).toEqual([404, 'Requested api token does not exist']);
    // A token never created is refused the same way, and the controller's own token still works.
    expect((await apiErrorOf(withToken('f'.repeat(48)).get('/config'))).status).toBe(401);
    expect((await withToken(mesh.sim.controllers[0]!.apiToken).get('/config')).vns3_version).toBeTruthy();
  });

  it('refuses an expiry out of range with the controller message', async () => {
    const low = await apiErrorOf(admin.post('/access/token', { body: { expires: 59 } }));
    expect([low.status, low.apiMessage]).toEqual([400, 'expires range must be between 60 and 31,536,000']);
    const high = await apiErrorOf(admin.post('/access/url', { body: { expires: 259_201 } }));
    expect([high.status, high.apiMessage]).toEqual([400, 'expires range must be between 60 and 259200']);
  });

  it('a token expires on its own, and a refreshing one lives on while used', () => {
    // The clock is a parameter here: no test waits a minute for an expiry.
    const state = new AccessState();
    const t0 = 1_000_000;
    const fixed = state.createToken({ name: 'fixed', expiresS: 60, refreshes: false, ip: '::1' }, t0);
    const sliding = state.createToken({ name: 'sliding', expiresS: 60, refreshes: true, ip: '::1' }, t0);
    expect(state.authenticate(fixed.token as string, '::1', t0 + 59_000)).toBe(true);
    expect(state.authenticate(sliding.token as string, '::1', t0 + 59_000)).toBe(true);
    expect(state.authenticate(fixed.token as string, '::1', t0 + 60_000)).toBe(false);
    expect(state.authenticate(sliding.token as string, '::1', t0 + 118_000)).toBe(true);
    expect(state.token(fixed.id as number, t0 + 60_000)?.expired).toBe(true);
    expect(inspect(state)).not.toContain(fixed.token as string);
    expect(JSON.stringify(state)).not.toContain(fixed.token as string);
  });

  it('access URLs are stored, listed, expired and deleted by id or by their text', async () => {
    const rs = await admin.post('/access/url', { body: { name: 'support', expires: 3600 } });
    expect(rs.access).toBe('rs');
    expect(rs.url).toMatch(/^https:\/\/198\.18\.0\.1:8000\/access\/[0-9a-f]{32}$/);
    const cp = await admin.post('/access/url', { body: { description: 'pack', access: 'cp:100_1_64_0' } });
    expect(cp).toMatchObject({ name: 'pack', access: 'cp:100_1_64_0', lifetime: '3600' });
    expect((await admin.get('/access/urls')).map((u) => u.url)).toEqual([rs.url, cp.url]);

    const expired = await admin.put('/access/url/{access_url_id}', { params: { path: { access_url_id: rs.id } }, body: { expired: true } });
    expect(expired.expired).toBe(true);
    expect(await admin.delete('/access/url', { body: { access_url: cp.url } })).toBe('Access url deleted');
    expect(await admin.delete('/access/url/{access_url_id}', { params: { path: { access_url_id: rs.id } } })).toBe('Access url deleted');
    expect(await admin.get('/access/urls')).toEqual([]);
    const gone = await apiErrorOf(admin.delete('/access/url', { body: { access_url_id: rs.id } }));
    expect([gone.status, gone.apiMessage]).toEqual([404, 'Invalid or missing access url']);
    expect((await apiErrorOf(admin.post('/access/url', { body: { access: 'shell' } }))).status).toBe(400);
  });

  it('identity settings are stored with secrets masked on read and kept when sent back masked', async () => {
    expect(await admin.get('/identity/vpn')).toEqual({ provider: 'ldap', enabled: false });
    const ldap = { provider: 'ldap' as const, enabled: true, host: 'ldap.example.com', port: 636, binddn: 'cn=vns3', bindpw: 's3cret', encrypt: true };
    const put = await admin.put('/identity/vpn', { body: ldap });
    expect(put).toEqual({ ...ldap, bindpw: MASK });
    expect(await admin.get('/identity/vpn')).toEqual({ ...ldap, bindpw: MASK });
    // Read, change one field, write back: the masked password does not replace the real one.
    await admin.put('/identity/vpn', { body: { ...ldap, bindpw: MASK, port: 389 } });
    const test = await admin.post('/identity/vpn/test', { body: { provider: 'ldap' } });
    expect(test).toEqual({ connect_success: false, message: "Can't contact LDAP server (ldap.example.com:389)." });

    const oidc = { provider: 'oidc' as const, enabled: true, identifier: 'client-1', secret: 'oidc-secret', issuer: 'https://id.example.com' };
    expect(await admin.put('/identity/controller', { body: oidc })).toEqual({ ...oidc, secret: MASK });
    expect((await admin.get('/identity/vpn')).provider).toBe('ldap');
    expect((await admin.post('/identity/controller/test', { body: { provider: 'oidc' } })).connect_success).toBe(false);
    // RADIUS is for VPN users only; the controller's settings take LDAP or OIDC.
    const radius = { provider: 'radius' as const, enabled: true, server: '10.0.0.5', pass: 'shared' };
    const stored = await admin.put('/identity/vpn', { body: radius });
    expect(stored.provider === 'radius' && stored.pass).toBe(MASK);
    expect((await apiErrorOf(admin.put('/identity/controller', { body: radius as never }))).status).toBe(400);
  });
});
