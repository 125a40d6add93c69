import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ApiError, Vns3ValidationError } from '../../src/client/index.js';
import type { Vns3Event } from '../../src/events.js';
import { ensureApiToken, rollApiTokens, type ApiTokenGrant, type ControllerSpec } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

describe('API token macros', () => {
  let mesh: TestMesh;
  let specs: ControllerSpec[];
  const grants: ApiTokenGrant[] = [];
  const keep = (result: { succeeded: { value: ApiTokenGrant }[]; failed: unknown[] }): ApiTokenGrant[] => {
    expect(result.failed).toEqual([]);
    const values = result.succeeded.map((s) => s.value);
    grants.push(...values);
    return values;
  };
  const writes = (): string[] => mesh.sim.controllers.flatMap((c) => c.requestLog.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`));

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
    specs = mesh.sim.controllers.map((c) => ({ host: c.host, password: c.password, fingerprint256: c.fingerprint256 }));
  });
  afterAll(async () => {
    await Promise.all(grants.map((g) => g.client.close()));
    await mesh?.stop();
  });

  it('ensureApiToken creates a named token per controller and returns clients that use it; a second run with the secrets writes nothing', async () => {
    const events: Vns3Event[] = [];
    mesh.sim.resetCounters();
    const first = keep(await ensureApiToken(specs, { name: 'pipeline', expiresS: 3600 }, { onEvent: (e) => events.push(e) }));
    expect(first.map((g) => [g.host, g.name, g.reused])).toEqual(mesh.sim.controllers.map((c) => [c.host, 'pipeline', false]));
    expect(writes().sort()).toEqual(['POST /api/access/token', 'POST /api/access/token']);
    for (const g of first) expect((await g.client.get('/config')).vns3_version).toBeTruthy();

    // Secrets never in events, JSON or inspect output.
    const shown = JSON.stringify(events) + JSON.stringify(first) + inspect(first, { depth: 5 });
    for (const g of first) expect(shown).not.toContain(g.secret);
    expect(shown).toContain('pipeline');

    mesh.sim.resetCounters();
    const secrets = Object.fromEntries(first.map((g) => [g.host, g.secret]));
    const second = keep(await ensureApiToken(specs, { name: 'pipeline', secrets }));
    expect(second.map((g) => [g.id, g.reused])).toEqual(first.map((g) => [g.id, true]));
    expect(writes()).toEqual([]);
  });

  it('without the secret a new token is made and the old one revoked; a wrong secret is not taken for the token', async () => {
    const [old] = keep(await ensureApiToken([specs[0]!], { name: 'worker' }));
    const [other] = keep(await ensureApiToken([specs[0]!], { name: 'other' }));
    // The secret of another token authenticates, but is not the secret of 'worker'.
    const [replaced] = keep(await ensureApiToken([specs[0]!], { name: 'worker', secrets: { [old!.host]: other!.secret } }));
    expect(replaced!.reused).toBe(false);
    expect(replaced!.id).not.toBe(old!.id);
    expect(replaced!.revoked).toEqual([old!.id]);
    const refused = await old!.client.get('/config').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Vns3ApiError);
    expect((refused as Vns3ApiError).status).toBe(401);
    expect((await other!.client.get('/config')).vns3_version).toBeTruthy();
    expect((await replaced!.client.get('/config')).vns3_version).toBeTruthy();
  });

  it('rollApiTokens: the new tokens work, the old ones are revoked on every controller', async () => {
    const before = keep(await ensureApiToken(specs, { name: 'roll-me', expiresS: 600 }));
    mesh.sim.resetCounters();
    const rolled = keep(await rollApiTokens(specs, { name: 'roll-me', expiresS: 86_400, refreshes: true }));
    expect(rolled.map((g) => g.revoked)).toEqual(before.map((g) => [g.id]));
    for (const [i, g] of rolled.entries()) {
      expect((await g.client.get('/config')).vns3_version).toBeTruthy();
      const old = await before[i]!.client.get('/config').catch((e: unknown) => e);
      expect((old as Vns3ApiError).status).toBe(401);
      expect((old as Vns3ApiError).apiMessage).toBe('Invalid or expired token');
      const listed = await mesh.clients[i]!.get('/access/token/{token_id}', { params: { path: { token_id: g.id } } });
      expect(listed).toMatchObject({ name: 'roll-me', refreshes: true, lifetime: '86400', expired: false });
    }
    // Per controller: one create, one revoke.
    expect(writes().map((w) => w.replace(/\/\d+$/, '/{id}')).sort()).toEqual([
      'DELETE /api/access/token/{id}', 'DELETE /api/access/token/{id}', 'POST /api/access/token', 'POST /api/access/token',
    ]);
  });

  it('validates everything before any request, never showing a secret', async () => {
    mesh.sim.resetCounters();
    await expect(ensureApiToken(specs, { name: '' })).rejects.toThrow(Vns3ValidationError);
    await expect(ensureApiToken(specs, { name: 'x', expiresS: 59 })).rejects.toThrow(/token\.expiresS/);
    const err = await ensureApiToken(specs, { name: 'x', secrets: { 'elsewhere:8000': 'super-secret-value' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3ValidationError);
    expect(String((err as Error).message)).not.toContain('super-secret-value');
    expect(inspect(err)).not.toContain('super-secret-value');
    expect(mesh.sim.totalWrites()).toBe(0);
  });
});
