import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../src/client/index.js';
import type { Vns3Event } from '../../src/events.js';
import { ensureRouteTable, restoreSnapshot, snapshotControllers } from '../../src/macros/index.js';
import { licenseMesh, startTestMesh, type TestMesh } from '../../src/testing/index.js';

const REBOOT = { intervalMs: 25, maxIntervalMs: 200, rebootStartTimeoutMs: 2_000, timeoutMs: 20_000 };

describe('snapshot macros', () => {
  let mesh: TestMesh;
  let folder: string;
  beforeAll(async () => {
    // Controllers 0 and 1 form a licensed mesh; 2 and 3 stay fresh to restore onto.
    mesh = await startTestMesh({ controllers: 4 });
    await licenseMesh({ sim: mesh.sim, clients: mesh.clients.slice(0, 2) }, { licensedControllers: 4 });
    folder = await mkdtemp(join(tmpdir(), 'vns3-snapshots-'));
  });
  afterAll(async () => {
    await mesh?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('snapshotControllers writes one file per controller with a sha256 file, and restoreSnapshot brings the configuration to fresh controllers', async () => {
    const sources = mesh.clients.slice(0, 2);
    for (const [i, c] of sources.entries()) {
      await ensureRouteTable(c, [{ cidr: `192.0.${i + 2}.0/24`, gateway: '_notset', interface: 'eth0', description: `lan ${i}` }]);
      await c.post('/firewall/rules', { body: { rule: `INPUT_CUST -s 192.0.${i + 2}.0/24 -j ACCEPT`, position: -1 } });
    }
    const events: Vns3Event[] = [];
    const now = new Date('2026-12-01T22:54:01Z');
    const saved = await snapshotControllers(sources, folder, { now, onEvent: (e) => events.push(e), deleteFromController: true });
    expect(saved.failed).toEqual([]);
    const files = saved.succeeded.map((s) => s.value);
    expect(files.map((f) => basename(f.file))).toEqual(sources.map((c) => `${c.host.replace(':', '_')}_20261201T225401Z.snapshot`));
    expect((await readdir(folder)).sort()).toEqual(files.flatMap((f) => [basename(f.file), `${basename(f.file)}.sha256`]).sort());
    for (const f of files) {
      const bytes = await readFile(f.file);
      expect(bytes.length).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
      expect(await readFile(f.checksumFile, 'utf8')).toBe(`${f.sha256}  ${basename(f.file)}\n`);
    }
    // Progress per controller; removed from the controllers once written.
    for (const c of sources) {
      expect(events.some((e) => e.controller === c.host && e.step === 'snapshot.save' && /wrote/.test(e.detail ?? ''))).toBe(true);
      expect((await c.get('/snapshots')).snapshots).toEqual({});
    }

    const targets = [2, 3].map((i, k) => ({ client: mesh.clients[i]!, file: files[k]!.file }));
    const restored = await restoreSnapshot(targets, { reboot: REBOOT });
    expect(restored.failed).toEqual([]);
    expect(restored.succeeded.map((s) => s.value.log)).toEqual([expect.arrayContaining(['restored routes']), expect.arrayContaining(['restored routes'])]);
    for (const [k, i] of [2, 3].entries()) {
      const fresh = mesh.clients[i]!;
      const source = sources[k]!;
      expect((await fresh.get('/config')).licensed).toBe(true);
      expect((await fresh.get('/keyset')).checksum).toBe((await source.get('/keyset')).checksum);
      expect(await fresh.get('/firewall/rules')).toEqual(await source.get('/firewall/rules'));
      const local = (routes: Record<string, { cidr: string; description?: string | null; editable?: boolean }>) =>
        Object.values(routes).filter((r) => r.editable !== false).map((r) => `${r.cidr} ${r.description}`);
      expect(local(await fresh.get('/routes'))).toEqual(local(await source.get('/routes')));
      expect((await fresh.get('/peering')).id).toBe((await source.get('/peering')).id);
    }

    // A second run writes nothing: the controllers have keysets now and are refused before any write.
    mesh.sim.resetCounters();
    const again = await restoreSnapshot(targets, { reboot: REBOOT });
    expect(again.succeeded).toEqual([]);
    expect(again.failed.map((f) => f.error.message)).toEqual([expect.stringMatching(/fresh controller/), expect.stringMatching(/fresh controller/)]);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('a file that no longer matches its checksum is refused before any request', async () => {
    const saved = await snapshotControllers([mesh.clients[0]!], folder, { now: new Date('2026-12-01T23:00:00Z') });
    const file = saved.succeeded[0]!.value.file;
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 1));
    mesh.sim.resetCounters();
    const err = await restoreSnapshot([{ client: mesh.clients[3]!, file }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3ValidationError);
    expect((err as Error).message).toMatch(/SHA-256/);
    expect(mesh.sim.controllers[3]!.requestLog).toEqual([]);
    await expect(snapshotControllers([mesh.clients[0]!], '')).rejects.toThrow(Vns3ValidationError);
  });
});
