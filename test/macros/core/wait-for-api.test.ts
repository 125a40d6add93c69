import { afterEach, describe, expect, it } from 'vitest';
import { Vns3WaitTimeoutError, waitForApi } from '../../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';

let mesh: TestMesh | undefined;
afterEach(async () => {
  await mesh?.stop();
  mesh = undefined;
});

describe('waitForApi', () => {
  it('a hung poll is cut by its request timeout and waitForApi goes on', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    mesh.sim.setFaults(0, { hangNext: 1 });
    const r = await waitForApi(mesh.clients[0]!, { requestTimeoutMs: 200, intervalMs: 10, timeoutMs: 10_000 });
    expect(r.polls).toBe(3);
    expect(mesh.sim.controllers[0]!.requestLog.map((e) => e.status)).toContain('hung');
  });

  it('a controller that never answers ends in a wait timeout', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    mesh.sim.setFaults(0, { hangNext: 1000 });
    const err = await waitForApi(mesh.clients[0]!, { requestTimeoutMs: 100, intervalMs: 10, timeoutMs: 600 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3WaitTimeoutError);
    expect((err as Vns3WaitTimeoutError).controller).toBe(mesh.clients[0]!.host);
  });


  it('returns soon after a reboot, having seen it, with a bounded number of polls', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    const rebooting = mesh.sim.reboot(0);
    const r = await waitForApi(mesh.clients[0]!, { expectReboot: true, intervalMs: 20, timeoutMs: 20_000 });
    await rebooting;
    expect(r.sawDown).toBe(true);
    expect(r.downMs).toBeGreaterThan(0);
    expect(r.polls).toBeGreaterThanOrEqual(3);
    expect(r.polls).toBeLessThan(60);
    await expect(mesh.clients[0]!.get('/config')).resolves.toHaveProperty('vns3_version');
  });

  it('on a healthy controller it needs exactly healthyPolls polls', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    const r = await waitForApi(mesh.clients[0]!, { healthyPolls: 3, intervalMs: 5 });
    expect(r).toMatchObject({ polls: 3, sawDown: false, downMs: 0 });
  });

  it('with expectReboot and no reboot it goes on after rebootStartTimeoutMs', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    const r = await waitForApi(mesh.clients[0]!, { expectReboot: true, rebootStartTimeoutMs: 150, intervalMs: 20 });
    expect(r.sawDown).toBe(false);
    expect(r.polls).toBeGreaterThan(2);
  });

  it('rejects bad options with a Vns3ValidationError naming the field, before any request', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    const before = mesh.sim.controllers[0]!.requestLog.length;
    await expect(waitForApi(mesh.clients[0]!, { healthyPolls: 0 })).rejects.toThrow(/Invalid healthyPolls/);
    await expect(waitForApi(mesh.clients[0]!, { intervalMs: Number.NaN })).rejects.toThrow(/Invalid intervalMs/);
    await expect(waitForApi(mesh.clients[0]!, { timeoutMs: -1 })).rejects.toThrow(/Invalid timeoutMs/);
    expect(mesh.sim.controllers[0]!.requestLog.length).toBe(before);
  });
});
