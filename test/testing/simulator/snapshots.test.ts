import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ConnectionError, type Vns3Client } from '../../../src/client/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf, failureOf, licenseRoot, waitKeyset, waitLicensed } from './steps.js';

/** The file's bytes through the typed client's openapi-fetch interface, as users download it. */
async function download(client: Vns3Client, name: string): Promise<Buffer> {
  const { data, error, response } = await client.raw.GET('/snapshots/{snapshot_name}', {
    params: { path: { snapshot_name: name } },
    parseAs: 'arrayBuffer',
  });
  if (error !== undefined || !data) throw new Error(`download failed: ${response.status}`);
  expect(response.headers.get('content-type')).toBe('application/octet-stream');
  return Buffer.from(data);
}

/** The file's bytes as the body of `PUT /snapshots/running_config`, `text/plain` as the reference says. */
async function upload(client: Vns3Client, bytes: Buffer): Promise<{ status: number; snapshot?: string; log_lines?: string[] }> {
  const { data, response } = await client.raw.PUT('/snapshots/running_config', {
    body: bytes as unknown as string,
    bodySerializer: (b) => b,
    headers: { 'content-type': 'text/plain' },
  });
  return { status: response.status, ...(data?.response ?? {}) };
}

describe('simulator: snapshots', () => {
  let mesh: TestMesh;
  let source: Vns3Client;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 4 });
    source = mesh.clients[0]!;
  });
  afterAll(async () => mesh?.stop());

  it('an unlicensed controller has no snapshots to give', async () => {
    const e = await apiErrorOf(mesh.clients[3]!.get('/snapshots'));
    expect([e.status, e.apiMessage]).toEqual([403, 'Must be licensed first.']);
  });

  it('round trip: configure, snapshot, download, import on a fresh controller that reboots into the same configuration', async () => {
    await licenseRoot(mesh, 0);
    await source.put('/keyset', { body: { token: 'snap-token' } });
    const keyset = await waitKeyset(source);
    await source.put('/config', { body: { topology_name: 'backup-me' } });
    await source.put('/peering/self', { body: { id: 1 } });
    await source.post('/peering/peers', { body: { id: 2, name: mesh.sim.controllers[1]!.identity.privateIp } });
    await source.post('/routes', { body: { cidr: '172.16.0.0/16', description: 'dc', advertise: true, gateway: '10.1.1.1' } });
    await source.post('/firewall/rules', { body: { rule: 'INPUT_CUST -s 172.16.0.0/16 -j ACCEPT', position: -1 } });
    await source.put('/container_system', { body: { network: '198.51.100.64/28' } });

    const created = await source.post('/snapshots', {});
    const [name] = Object.keys(created);
    expect(name).toMatch(/^snapshot_\d{8}_\d{10}_198\.18\.0\.1$/);
    const listed = await source.get('/snapshots');
    expect(listed.latest_snapshot).toBe(name);
    const meta = listed.snapshots[name!]!;

    const file = await download(source, name!);
    expect(file.length).toBe(meta.size);
    expect(createHash('sha1').update(file).digest('hex')).toBe(meta.sha1_checksum);
    const inside = JSON.parse(gunzipSync(file).toString('utf8')) as { format: string; version: number; sections: Record<string, unknown> };
    expect(inside.format).toBe('vns3-sim-snapshot');
    expect(Object.keys(inside.sections)).toEqual(['config', 'license', 'keyset', 'peering', 'routes', 'firewall', 'container_system']);
    // Deterministic: an unchanged configuration gives the same file.
    const again = await source.post('/snapshots', { body: { name: 'again' } });
    expect(again.again!.sha1_checksum).toBe(meta.sha1_checksum);

    const fresh = mesh.clients[2]!;
    expect((await fresh.get('/config')).licensed).toBe(false);
    const bare = mesh.sim.controllers[2]!.connect({ retry: false, timeoutMs: 2_000 });
    try {
      const imported = await upload(bare, file);
      expect(imported).toMatchObject({ status: 200, snapshot: 'imported' });
      expect(imported.log_lines).toContain('restored routes');
      // The controller reboots once the reply is out: the next request finds nothing listening.
      expect(await failureOf(bare.get('/config'))).toBeInstanceOf(Vns3ConnectionError);
    } finally {
      await bare.close();
    }
    await waitLicensed(fresh);
    const config = await fresh.get('/config');
    expect(config.topology_name).toBe('backup-me');
    expect((await fresh.get('/keyset')).checksum).toBe(keyset.checksum);
    const peering = await fresh.get('/peering');
    expect(peering.id).toBe(1);
    expect(Object.keys(peering.managers ?? {})).toContain('2');
    const routes = Object.values(await fresh.get('/routes'));
    expect(routes.find((r) => r.cidr === '172.16.0.0/16')).toMatchObject({ description: 'dc', advertise: true, gateway: '10.1.1.1' });
    expect(await fresh.get('/firewall/rules')).toEqual([['INPUT_CUST -s 172.16.0.0/16 -j ACCEPT', 0]]);
    expect((await fresh.get('/container_system')).network).toBe('198.51.100.64/28');
    // Its own snapshots were not in the file.
    expect((await fresh.get('/snapshots')).snapshots).toEqual({});

    // A controller with a keyset refuses an import.
    const refused = await upload(source, file);
    expect(refused.status).toBe(403);
    const typed = await apiErrorOf(source.put('/snapshots/running_config', { body: 'text' }));
    expect([typed.status, typed.apiMessage]).toEqual([403, 'Keyset present - snapshot import not allowed']);
  });

  it('a file that is not a snapshot is refused and changes nothing', async () => {
    const fresh = mesh.clients[3]!;
    const result = await upload(fresh, Buffer.from('not a snapshot at all'));
    expect(result).toMatchObject({ status: 200, snapshot: 'failed' });
    expect(result.log_lines?.[0]).toMatch(/Not a snapshot file/);
    expect((await fresh.get('/config')).licensed).toBe(false);
    expect(mesh.sim.controllers[3]!.requestLog.every((r) => r.status !== 'refused')).toBe(true);
  });

  it('names, duplicates, deletion and missing snapshots', async () => {
    await source.post('/snapshots', { body: { name: 'before-change' } });
    const dup = await apiErrorOf(source.post('/snapshots', { body: { name: 'before-change' } }));
    expect(dup.status).toBe(400);
    expect((await apiErrorOf(source.post('/snapshots', { body: { name: '../etc/passwd' } }))).status).toBe(400);
    const left = await source.delete('/snapshots/{snapshot_name}', { params: { path: { snapshot_name: 'before-change' } } });
    expect(Object.keys(left.snapshots)).not.toContain('before-change');
    const missing = await apiErrorOf(source.delete('/snapshots/{snapshot_name}', { params: { path: { snapshot_name: 'before-change' } } }));
    expect([missing.status, missing.apiMessage]).toEqual([404, 'snapshot not found']);
    const { response } = await source.raw.GET('/snapshots/{snapshot_name}', { params: { path: { snapshot_name: 'nope' } }, parseAs: 'arrayBuffer' });
    expect(response.status).toBe(404);
  });
});
