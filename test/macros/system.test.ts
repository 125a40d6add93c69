import { afterEach, describe, expect, it } from 'vitest';
import { Vns3ApiError, Vns3ValidationError } from '../../src/client/errors.js';
import { createClient } from '../../src/client/index.js';
import { disableUis, rollApiPassword, rollUiCredentials } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

let mesh: TestMesh | undefined;
afterEach(async () => {
  await mesh?.stop();
  mesh = undefined;
});

describe('rollApiPassword', () => {
  it('the clients keep working with the new password; the old one gets 401', async () => {
    mesh = await startTestMesh({ controllers: 3 });
    const { sim, clients } = mesh;
    const old = sim.controllers.map((c) => c.password);
    sim.setFaults(1, { errorNext: 1 });
    const r = await rollApiPassword(clients, (_c, i) => `rolled-Pw-${i}`);
    expect(r.failed).toEqual([]);
    expect(r.succeeded.every((s) => s.value.verified)).toBe(true);
    for (const [i, c] of clients.entries()) {
      expect(sim.controllers[i]!.password).toBe(`rolled-Pw-${i}`);
      await expect(c.get('/config')).resolves.toHaveProperty('licensed', false);
      const stale = createClient({ host: c.host, password: old[i]!, fingerprint256: sim.controllers[i]!.fingerprint256, retry: false });
      const err = await stale.get('/config').catch((e: unknown) => e);
      await stale.close();
      expect(err).toBeInstanceOf(Vns3ApiError);
      expect((err as Vns3ApiError).status).toBe(401);
    }
  });

  it('rejects an empty password before any request', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    await expect(rollApiPassword(mesh.clients, '')).rejects.toBeInstanceOf(Vns3ValidationError);
    expect(mesh.sim.totalWrites()).toBe(0);
  });
});

describe('web UI', () => {
  it('disableUis rides out the 502 that follows, and the API answers afterwards', async () => {
    mesh = await startTestMesh({ controllers: 2, timings: { adminUi502Ms: 300 } });
    const r = await disableUis(mesh.clients);
    expect(r.failed).toEqual([]);
    expect(r.succeeded.map((s) => s.value.enabled)).toEqual([false, false]);
    for (const c of mesh.clients) await expect(c.get('/config', { retry: false })).resolves.toHaveProperty('vns3_version');
    const statuses = mesh.sim.controllers.flatMap((c) => c.requestLog.map((e) => e.status));
    expect(statuses).toContain(502);
  });

  it('rollUiCredentials sets the user name and never shows the password', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    const events: unknown[] = [];
    const r = await rollUiCredentials(mesh.clients, { username: 'ops', password: 'Ui-Secret-pw' }, { onEvent: (e) => events.push(e) });
    expect(r.succeeded.map((s) => s.value.username)).toEqual(['ops', 'ops']);
    expect(JSON.stringify(events)).not.toContain('Ui-Secret-pw');
    mesh.sim.resetCounters();
    await expect(rollUiCredentials(mesh.clients, { username: 'a b', password: 'x' })).rejects.toBeInstanceOf(Vns3ValidationError);
    await expect(rollUiCredentials(mesh.clients, { username: 'ops', password: '' })).rejects.toBeInstanceOf(Vns3ValidationError);
    expect(mesh.sim.totalWrites()).toBe(0);
  });
});
