import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specValidator } from '../../../src/testing/simulator/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf, waitFor } from './steps.js';

type Docker = {
  Id: string;
  Name: string;
  Config: { Image: string; Cmd: unknown; Env: string[] };
  State: { Running: boolean; Status: string };
  NetworkSettings: { IPAddress: string };
};

describe('simulator: firewall and container system', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2, timings: { containerSystemTransitionMs: 200, imageImportMs: 200 } });
  });
  afterAll(async () => mesh?.stop());

  it('firewall rules are positional: insert, append, delete by position and by rule', async () => {
    const fw = mesh.clients[0]!;
    const rules = async (): Promise<string[]> => {
      const list = (await fw.get('/firewall/rules')) as unknown as [string, number][];
      list.forEach(([, position], i) => expect(position).toBe(i));
      return list.map(([rule]) => rule);
    };
    const a = 'INPUT_CUST -s 10.0.0.0/8 -j ACCEPT';
    const b = 'OUTPUT_CUST -d 10.0.0.0/8 -j ACCEPT';
    const c = 'MACRO_CUST -o eth0 -s 198.51.100.2/32 -j MASQUERADE';
    await fw.post('/firewall/rules', { body: { rule: a, position: -1 } });
    await fw.post('/firewall/rules', { body: { rule: b, position: -1 } });
    await fw.post('/firewall/rules', { body: { rule: c, position: 0 } });
    expect(await rules()).toEqual([c, a, b]);
    await fw.post('/firewall/rules', { body: { rule: 'FORWARD_CUST -j DROP', position: 1 } });
    expect(await rules()).toEqual([c, 'FORWARD_CUST -j DROP', a, b]);

    await fw.delete('/firewall/rules/{position}', { params: { path: { position: 1 } } });
    expect(await rules()).toEqual([c, a, b]);
    await fw.delete('/firewall/rules', { body: { rule: a } });
    expect(await rules()).toEqual([c, b]);

    expect((await apiErrorOf(fw.delete('/firewall/rules/{position}', { params: { path: { position: 5 } } }))).status).toBe(400);
    expect((await apiErrorOf(fw.post('/firewall/rules', { body: { rule: 'NOPE -j ACCEPT', position: -1 } }))).apiMessage).toMatch(/chain/);
    // Not synced between peers.
    expect(await mesh.clients[1]!.get('/firewall/rules')).toEqual([]);
  });

  it('the container system stops and starts through stopping/starting', async () => {
    const cs = mesh.clients[1]!;
    expect((await cs.get('/container_system')).running).toBe(true);
    const stopping = await cs.post('/container_system', { body: { action: 'stop' } });
    expect(stopping.running).toBe('stopping');
    await waitFor('stopped', () => cs.get('/container_system'), (s) => s.running === false);
    const starting = await cs.post('/container_system', { body: { action: 'start' } });
    expect(starting.running).toBe('starting');
    await waitFor('running', () => cs.get('/container_system'), (s) => s.running === true);
  });

  it('imports images in the background; failures carry status_msg', async () => {
    const c = mesh.clients[0]!;
    const ok = await c.post('/container_system/images', { body: { name: 'ha-plugin', url: 'https://images.example.com/ha.tar.gz' } });
    expect(ok.status).toBe('Image being uploaded');
    const listed = await c.get('/container_system/images', { params: { query: { uuid: ok.import_uuid } } });
    expect(listed.images).toHaveLength(1);
    expect(listed.images?.[0]?.status).toBe('Importing');
    const ready = await waitFor(
      'image Ready',
      () => c.get('/container_system/images', { params: { query: { uuid: ok.import_uuid } } }),
      (r) => r.images?.[0]?.status !== 'Importing',
    );
    expect(ready.images?.[0]?.status).toBe('Ready');

    mesh.sim.failImageImport(0, 'broken-image', 'Image archive is corrupt.');
    const bad = await c.post('/container_system/images', { body: { name: 'broken-image', url: 'https://images.example.com/b.tgz' } });
    const lost = await c.post('/container_system/images', { body: { name: 'lost', url: 'https://nowhere.invalid/x.tgz' } });
    for (const [uuid, msg] of [[bad.import_uuid, /corrupt/], [lost.import_uuid, /nowhere\.invalid/]] as const) {
      const failed = await waitFor(
        'image failed',
        () => c.get('/container_system/images', { params: { query: { uuid } } }),
        (r) => r.images?.[0]?.status !== 'Importing',
      );
      expect(failed.images?.[0]?.status).not.toBe('Ready');
      expect(String((failed.images?.[0] as { status_msg?: string }).status_msg)).toMatch(msg);
    }
  });

});

describe('simulator: containers', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 1, timings: { imageImportMs: 20 } });
  });
  afterAll(async () => mesh?.stop());

  it('the docker-inspect shaped container list matches the spec', async () => {
    const c = mesh.clients[0]!;
    const img = await c.post('/container_system/images', { body: { name: 'spec-check', url: 'https://images.example.com/s.tgz' } });
    await waitFor('Ready', () => c.get('/container_system/images', { params: { query: { uuid: img.import_uuid } } }), (r) => r.images?.[0]?.status === 'Ready');
    const { uuid } = await c.post('/container_system/containers', { body: { image_uuid: img.import_uuid, name: 'spec-check', command: 'x', environment: 'A=1' } });
    const list = await c.get('/container_system/containers');
    expect(specValidator().checkResponse('GET', '/container_system/containers', 200, { response: list })).toBeUndefined();
    await c.put('/container_system/containers/{uuid}', { params: { path: { uuid } } });
  });

  it('runs containers: start, list, logs, stop, restart, remove; environment as KEY=value lines', async () => {
    const c = mesh.clients[0]!;
    const img = await c.post('/container_system/images', { body: { name: 'app', url: 'https://images.example.com/app.tgz' } });
    await waitFor('app Ready', () => c.get('/container_system/images', { params: { query: { uuid: img.import_uuid } } }), (r) => r.images?.[0]?.status === 'Ready');
    const started = await c.post('/container_system/containers', {
      body: { image_uuid: img.import_uuid, name: 'app1', command: '/run.sh --ha', environment: 'MODE=ha\nSECRET=s3cr3t\n' },
    });
    expect(started.container_started).toBe(true);
    expect(started.status).toBe('Running');
    const uuid = started.uuid;

    const running = (await c.get('/container_system/containers')).containers as unknown as Docker[];
    const mine = running.find((x) => x.Id === uuid)!;
    expect(mine.Name).toBe('/app1');
    expect(mine.Config.Image).toBe('app');
    expect(mine.Config.Env).toEqual(['MODE=ha', 'SECRET=s3cr3t']);
    expect(mine.State.Running).toBe(true);
    expect(mine.NetworkSettings.IPAddress).toBe(started.ip_address);

    const logs = await c.get('/container_system/containers/{uuid}/logs', { params: { path: { uuid }, query: { lines: 10 } } });
    const text = JSON.stringify(logs);
    expect(text).toContain('app1');
    expect(text).not.toContain('s3cr3t');

    await c.put('/container_system/containers/{uuid}', { params: { path: { uuid } } });
    // show_all defaults to true (the reference): a stopped container is listed unless show_all=false.
    const onlyRunning = (await c.get('/container_system/containers', { params: { query: { show_all: false } } })).containers as unknown as Docker[];
    expect(onlyRunning.some((x) => x.Id === uuid)).toBe(false);
    const all = (await c.get('/container_system/containers')).containers as unknown as Docker[];
    expect(all.find((x) => x.Id === uuid)?.State.Running).toBe(false);

    const restarted = await c.post('/container_system/containers', { body: { uuid } });
    expect(restarted.uuid).toBe(uuid);
    // "Stop and delete container": DELETE takes a running container too.
    await c.delete('/container_system/containers/{uuid}', { params: { path: { uuid } } });
    const gone = (await c.get('/container_system/containers', { params: { query: { show_all: true } } })).containers as unknown as Docker[];
    expect(gone.some((x) => x.Id === uuid)).toBe(false);
    expect((await apiErrorOf(c.get('/container_system/containers/{uuid}/logs', { params: { path: { uuid }, query: { lines: 5 } } }))).status).toBe(404);
  });
});
