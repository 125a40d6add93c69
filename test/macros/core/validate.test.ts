import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../../src/client/errors.js';
import { createClient } from '../../../src/client/index.js';
import type { Vns3Event } from '../../../src/events.js';
import { acceptLicenses, ensureContainerSystem, ensureImage, fetchKeysetFromSource, fetchKeysets, licenseControllers, rollApiPassword, setupController, waitForMesh } from '../../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';

const TOKEN = 'keyset-token-V4l1d-never-shown';
let mesh: TestMesh;
let license: string;
beforeAll(async () => {
  mesh = await startTestMesh({ controllers: 2 });
  license = mesh.sim.license();
});
afterAll(() => mesh.stop());

async function rejectsBeforeAnyRequest(p: Promise<unknown>, field: string | RegExp): Promise<Vns3ValidationError> {
  mesh.sim.resetCounters();
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Vns3ValidationError);
  const v = err as Vns3ValidationError;
  if (typeof field === 'string') expect(v.field).toBe(field);
  else expect(v.field).toMatch(field);
  expect(mesh.sim.totalWrites()).toBe(0);
  expect(mesh.sim.controllers.flatMap((c) => c.requestLog)).toEqual([]);
  expect(v.message).not.toContain(TOKEN);
  return v;
}

describe('input validation happens before any request', () => {
  it('setupController', async () => {
    const c = mesh.clients[0]!;
    const ok = { license, keysetToken: TOKEN };
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, keysetToken: '' }), 'keysetToken');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, keysetToken: '   ' }), 'keysetToken');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, license: '' }), 'license');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, license: { file: '/nonexistent/vns3/license.txt' } }), 'license.file');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, license: { file: '/' } }), 'license.file');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, peerId: 0 }), 'peerId');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, peerId: 1.5 }), 'peerId');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, licenseParameters: {} as never }), 'licenseParameters');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, licenseParameters: { subnet: '10.0.0.0/33' } }), 'licenseParameters.subnet');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, licenseParameters: { managers: '1.2.3.4 nope' } }), 'licenseParameters.managers');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, licenseParameters: { asns: [65001, 0] } }), 'licenseParameters.asns');
    await rejectsBeforeAnyRequest(setupController(c, { ...ok, topologyName: '' }), 'topologyName');
    const v = await rejectsBeforeAnyRequest(setupController(c, { ...ok, peerId: -3 }), 'peerId');
    expect(v.message).toContain(c.host);
  });

  it('wait options of every macro that waits, naming the field', async () => {
    const c = mesh.clients[0]!;
    const ok = { license, keysetToken: TOKEN };
    await rejectsBeforeAnyRequest(setupController(c, ok, { intervalMs: -1 }), 'intervalMs');
    await rejectsBeforeAnyRequest(setupController(c, ok, { reboot: { maxIntervalMs: Number.NaN } }), 'maxIntervalMs');
    await rejectsBeforeAnyRequest(acceptLicenses([c], { default: true }, { reboot: { timeoutMs: -5 } }), 'timeoutMs');
    await rejectsBeforeAnyRequest(fetchKeysets([c], { source: '10.0.0.1', token: TOKEN }, { intervalMs: Number.NaN }), 'intervalMs');
    await rejectsBeforeAnyRequest(waitForMesh([c], { intervalMs: -1 }), 'intervalMs');
    await rejectsBeforeAnyRequest(ensureContainerSystem(c, { timeoutMs: Number.NaN }), 'timeoutMs');
    await rejectsBeforeAnyRequest(ensureImage(c, { name: 'x', url: 'https://images.example.com/x.tar.gz' }, { intervalMs: -1 }), 'intervalMs');
  });

  it('keyset fetch: source, token, attempts', async () => {
    const c = mesh.clients[1]!;
    await rejectsBeforeAnyRequest(fetchKeysetFromSource(c, { source: 'https://10.0.0.1:8000', token: TOKEN }), 'source');
    await rejectsBeforeAnyRequest(fetchKeysetFromSource(c, { source: 'bad host!', token: TOKEN }), 'source');
    await rejectsBeforeAnyRequest(fetchKeysetFromSource(c, { source: '', token: TOKEN }), 'source');
    await rejectsBeforeAnyRequest(fetchKeysetFromSource(c, { source: '10.0.0.1', token: '' }), 'token');
    await rejectsBeforeAnyRequest(fetchKeysetFromSource(c, { source: '10.0.0.1', token: TOKEN }, { attempts: 0 }), 'attempts');
    await rejectsBeforeAnyRequest(fetchKeysets(mesh.clients, { source: '300.1.1.1', token: TOKEN }), 'source');
  });

  it('bulk license and password macros', async () => {
    await rejectsBeforeAnyRequest(licenseControllers(mesh.clients, { file: '/nonexistent.lic' }), 'license.file');
    await rejectsBeforeAnyRequest(licenseControllers(mesh.clients, 'a\0binary'), 'license');
    await rejectsBeforeAnyRequest(acceptLicenses(mesh.clients, { default: 'yes' } as never), 'licenseParameters.default');
    await rejectsBeforeAnyRequest(acceptLicenses(mesh.clients, { my_manager_vip: '1.2.3' } as never), 'licenseParameters.my_manager_vip');
    await rejectsBeforeAnyRequest(rollApiPassword(mesh.clients, (_c, i) => (i === 1 ? '' : 'new-pass-123')), 'newPassword');
  });

  it('DNS names and IPs are accepted as sources', async () => {
    // A valid source goes on to read the controller: one request (GET /keyset), no write.
    mesh.sim.resetCounters();
    const r = await fetchKeysetFromSource(mesh.clients[1]!, { source: 'vns3-root.example.internal', token: TOKEN }, { attempts: 1, timeoutMs: 5_000, intervalMs: 10 }).catch((e: unknown) => e);
    expect(r).not.toBeInstanceOf(Vns3ValidationError);
    expect(mesh.sim.controllers[1]!.requestLog.length).toBeGreaterThan(0);
  });
});

describe('no secret in events or errors', () => {
  it('a full run with faults and failures never shows a token, password or license', async () => {
    const m = await startTestMesh({ controllers: 3 });
    try {
      const events: Vns3Event[] = [];
      const onEvent = (e: Vns3Event) => events.push(e);
      const lic = m.sim.license({ controllers: 3 });
      const passwords = m.sim.controllers.map((c) => c.password);
      m.sim.setFaults(1, { errorNext: 2, dropNext: 1 });
      await setupController(m.clients[0]!, { license: lic, keysetToken: TOKEN, peerId: 1, topologyName: 'sec' }, { onEvent, intervalMs: 20 });
      const source = m.sim.controllers[0]!.identity.privateIp;
      m.sim.partition(0, 2);
      const fetched = await fetchKeysets(m.clients.slice(1), { source, token: TOKEN }, { onEvent, intervalMs: 20, attempts: 2 });
      expect(fetched.succeeded).toHaveLength(1);
      expect(fetched.failed).toHaveLength(1);
      const wrongToken = await fetchKeysetFromSource(m.clients[2]!, { source, token: 'wrong-Tok3n-secret' }, { onEvent, intervalMs: 20, attempts: 1 }).catch((e: unknown) => e);
      const newPassword = 'N3w-Pa55word-secret';
      const rolled = await rollApiPassword(m.clients.slice(0, 2), newPassword, { onEvent });
      expect(rolled.failed).toEqual([]);
      // A client still holding the old password: the 401 error must not show either password.
      const stale = createClient({ host: m.sim.controllers[0]!.host, password: passwords[0]!, fingerprint256: m.sim.controllers[0]!.fingerprint256, retry: false });
      const badPassword = await setupController(stale, { license: lic, keysetToken: TOKEN }, { onEvent }).catch((e: unknown) => e);
      await stale.close();
      expect((badPassword as Error).message).toMatch(/401/);

      const steps = new Set(events.map((e) => e.step));
      for (const s of ['license.upload', 'license.accept', 'reboot.wait', 'keyset.generate', 'keyset.fetch', 'peering.self', 'admin.password']) {
        expect(steps).toContain(s);
      }
      const errors = [...fetched.failed.map((f) => f.error), wrongToken, badPassword];
      const dump = (e: unknown): string => {
        const parts: string[] = [];
        for (let c: unknown = e; c !== undefined && parts.length < 10; c = (c as { cause?: unknown }).cause) {
          parts.push(String(c), (c as Error).stack ?? '', JSON.stringify(c, Object.getOwnPropertyNames(c ?? {})));
        }
        return parts.join('\n');
      };
      const text = JSON.stringify(events) + errors.map(dump).join('\n');
      const licenseLines = lic.split('\n').filter((l) => l.length > 20);
      for (const secret of [TOKEN, 'wrong-Tok3n-secret', newPassword, ...passwords, ...licenseLines]) {
        expect(text).not.toContain(secret);
      }
      expect(wrongToken).toBeInstanceOf(Error);
    } finally {
      await m.stop();
    }
  });
});
