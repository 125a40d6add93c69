import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../src/client/errors.js';
import { containerLogs, encodeEnvironment, ensureContainer, listContainers, Vns3ContainerConflictError, ensureImage, Vns3ImageImportError, ensureContainerSystem } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

const fast = { timeoutMs: 10_000, intervalMs: 10 };

describe('container system', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 1, containerSystemRunning: false });
  });
  afterAll(() => mesh.stop());

  it('starts a stopped container system, waits for it, and does nothing the second time', async () => {
    const client = mesh.clients[0]!;
    expect((await client.get('/container_system')).running).toBe(false);
    const first = await ensureContainerSystem(client, fast);
    expect(first.started).toBe(true);
    expect(first.network).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    expect((await client.get('/container_system')).running).toBe(true);
    mesh.sim.resetCounters();
    const second = await ensureContainerSystem(client, fast);
    expect(second).toEqual({ network: first.network, started: false });
    expect(mesh.sim.totalWrites()).toBe(0);
  });
});

describe('images and containers', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 1 });
  });
  afterAll(() => mesh.stop());

  it('imports an image once and waits until it is Ready', async () => {
    const client = mesh.clients[0]!;
    const first = await ensureImage(client, { name: 'tools', url: 'https://images.example.com/tools.tar.gz' }, fast);
    expect(first.action).toBe('import');
    expect(first.id).toBeTruthy();
    const listed = await client.get('/container_system/images');
    expect(listed.images.map((i) => [i.image_name, i.status])).toContainEqual(['tools', 'Ready']);
    mesh.sim.resetCounters();
    const second = await ensureImage(client, { name: 'tools', url: 'https://images.example.com/tools.tar.gz' }, fast);
    expect(second).toEqual({ id: first.id, name: 'tools', action: 'none' });
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('reports a failed import with the controller message, and re-imports only when asked', async () => {
    const client = mesh.clients[0]!;
    mesh.sim.failImageImport(0, 'broken-source', 'Failed to pull: manifest unknown');
    const spec = { name: 'flaky', url: 'https://images.example.com/broken-source.tar.gz' };
    const err = await ensureImage(client, spec, fast).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3ImageImportError);
    expect((err as Vns3ImageImportError).statusMessage).toBe('Failed to pull: manifest unknown');
    expect((err as Error).message).toContain('flaky');
    expect((err as Error).message).toContain(client.host);

    // Next run: the failed image is still there; it is reported, not silently kept.
    mesh.sim.resetCounters();
    await expect(ensureImage(client, { name: 'flaky', url: 'https://images.example.com/good.tar.gz' }, fast)).rejects.toThrow(/earlier import failed/);
    expect(mesh.sim.totalWrites()).toBe(0);

    const again = await ensureImage(client, { name: 'flaky', url: 'https://images.example.com/good.tar.gz' }, { ...fast, replaceFailed: true });
    expect(again.action).toBe('reimport');
    const images = (await client.get('/container_system/images')).images.filter((i) => i.image_name === 'flaky');
    expect(images.map((i) => i.status)).toEqual(['Ready']);
  });

  it('rejects an image spec without exactly one source before any write', async () => {
    const client = mesh.clients[0]!;
    mesh.sim.resetCounters();
    await expect(ensureImage(client, { name: 'x' }, fast)).rejects.toBeInstanceOf(Vns3ValidationError);
    await expect(ensureImage(client, { name: 'x', url: 'https://a.example/x', buildurl: 'https://a.example/y' }, fast)).rejects.toThrow(/exactly one/);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('starts a container, leaves it alone, restarts it when stopped, and replaces it only when asked', async () => {
    const client = mesh.clients[0]!;
    await ensureImage(client, { name: 'agent', url: 'https://images.example.com/agent.tar.gz' }, fast);
    const spec = { name: 'agent-1', image: 'agent', command: '/run.sh --verbose', environment: { MODE: 'primary', SECRET_PW: 'hunter2-very-secret' } };

    const started = await ensureContainer(client, spec, fast);
    expect(started.action).toBe('start');
    expect(started.ipAddress).toBeTruthy();
    const raw = (await client.get('/container_system/containers', { params: { query: { show_all: true } } })).containers.find((c) => c.Name === '/agent-1');
    expect(raw?.Config?.Env).toEqual(['MODE=primary', 'SECRET_PW=hunter2-very-secret']);
    expect(raw?.State?.Running).toBe(true);

    mesh.sim.resetCounters();
    expect((await ensureContainer(client, spec, fast)).action).toBe('none');
    expect(mesh.sim.totalWrites()).toBe(0);

    await client.put('/container_system/containers/{uuid}', { params: { path: { uuid: started.uuid! } } });
    const restarted = await ensureContainer(client, spec, fast);
    expect(restarted).toMatchObject({ action: 'restart', uuid: started.uuid });
    expect((await listContainers(client)).find((c) => c.name === 'agent-1')?.running).toBe(true);

    const changed = { ...spec, environment: { MODE: 'secondary', SECRET_PW: 'another-secret-value' } };
    mesh.sim.resetCounters();
    const conflict = await ensureContainer(client, changed, fast).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(Vns3ContainerConflictError);
    expect((conflict as Vns3ContainerConflictError).differences).toEqual(['environment (MODE, SECRET_PW)']);
    expect((conflict as Error).message).not.toContain('secret-value');
    expect((conflict as Error).message).not.toContain('hunter2');
    expect(mesh.sim.totalWrites()).toBe(0);

    const replaced = await ensureContainer(client, changed, { ...fast, replace: true });
    expect(replaced.action).toBe('replace');
    expect(replaced.uuid).not.toBe(started.uuid);
    expect(replaced.ipAddress).toBe(started.ipAddress);
    const after = (await listContainers(client)).filter((c) => c.name === 'agent-1');
    expect(after).toHaveLength(1);
    expect(after[0]!.env.get('MODE')).toBe('secondary');
    expect(after[0]!.running).toBe(true);

    const lines = await containerLogs(client, 'agent-1', { lines: 50 });
    expect(lines.some((l) => l.includes('agent-1'))).toBe(true);
    expect(lines.join('\n')).not.toContain('another-secret-value');
  });

  it('refuses bad environment keys and values with line breaks before any write, without echoing values', async () => {
    const client = mesh.clients[0]!;
    mesh.sim.resetCounters();
    await expect(ensureContainer(client, { name: 'e', image: 'agent', command: 'x', environment: { '1BAD': 'v' } })).rejects.toThrow(/environment key/);
    const err = await ensureContainer(client, { name: 'e', image: 'agent', command: 'x', environment: { PW: 'line1\nline2-secret' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3ValidationError);
    expect((err as Vns3ValidationError).field).toBe('environment.PW');
    expect((err as Error).message).not.toContain('line2-secret');
    expect(mesh.sim.totalWrites()).toBe(0);
    expect(encodeEnvironment({ A: '1', B_2: 'x=y' })).toBe('A=1\nB_2=x=y');
  });
});
