import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptLicenses, licenseControllers } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

let mesh: TestMesh | undefined;
afterEach(async () => {
  await mesh?.stop();
  mesh = undefined;
});

describe('licenseControllers / acceptLicenses', () => {
  it('license every controller in parallel from a file, accept, and do nothing the second time', async () => {
    mesh = await startTestMesh({ controllers: 3 });
    const dir = await mkdtemp(join(tmpdir(), 'vns3-license-'));
    try {
      const file = join(dir, 'license.txt');
      await writeFile(file, mesh.sim.license());
      const uploaded = await licenseControllers(mesh.clients, { file });
      expect(uploaded.failed).toEqual([]);
      expect(uploaded.succeeded.map((s) => s.value.changed)).toEqual([true, true, true]);

      const accepted = await acceptLicenses(mesh.clients, { default: true }, { reboot: { intervalMs: 20 } });
      expect(accepted.failed).toEqual([]);
      expect(mesh.sim.controllers.every((c) => c.licensed)).toBe(true);
      // Each controller answers right after the macro returns.
      for (const c of mesh.clients) expect((await c.get('/config', { retry: false })).licensed).toBe(true);

      mesh.sim.resetCounters();
      const again = await licenseControllers(mesh.clients, { file });
      const acceptedAgain = await acceptLicenses(mesh.clients, { default: true });
      expect([...again.succeeded, ...acceptedAgain.succeeded].every((s) => !s.value.changed)).toBe(true);
      expect(mesh.sim.totalWrites()).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('accepting without an uploaded license fails for that controller only, naming the step', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    await licenseControllers([mesh.clients[0]!], mesh.sim.license());
    const r = await acceptLicenses(mesh.clients, { subnet: '100.127.255.192/26' }, { reboot: { intervalMs: 20 } });
    expect(r.succeeded.map((s) => s.controller)).toEqual([mesh.clients[0]!.host]);
    expect(r.failed[0]!.controller).toBe(mesh.clients[1]!.host);
    expect(r.failed[0]!.error.message).toMatch(/^license\.accept failed on 127\.0\.0\.1:\d+: no license is uploaded/);
  });
});
