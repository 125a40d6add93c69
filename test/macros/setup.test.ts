import { afterEach, describe, expect, it } from 'vitest';
import { Vns3TimeoutError } from '../../src/client/errors.js';
import type { Vns3Event } from '../../src/events.js';
import { acceptLicenses, licenseControllers, fetchKeysetFromSource, fetchKeysets, setupController, Vns3KeysetFetchError, Vns3StepError, waitForApi, waitForKeyset, Vns3WaitTimeoutError } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../helpers/sim.js';

const TOKEN = 'keyset-token-Zq9-never-shown';
let mesh: TestMesh | undefined;
afterEach(async () => {
  await mesh?.stop();
  mesh = undefined;
});

/** Every error along a cause chain, for assertions on what was wrapped. */
function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c: unknown = e; c !== undefined && out.length < 10; c = (c as { cause?: unknown }).cause) out.push(c);
  return out;
}

async function setUpMesh(m: TestMesh, events?: Vns3Event[]) {
  const [root, ...peers] = m.clients;
  const license = m.sim.license({ controllers: 4 });
  const onEvent = events ? (e: Vns3Event) => events.push(e) : undefined;
  const setup = await setupController(
    root!,
    { topologyName: 'mesh-a', controllerName: 'root', license, keysetToken: TOKEN, peerId: 1, waitTimeoutMs: 20_000 },
    { intervalMs: 20, ...(onEvent ? { onEvent } : {}) },
  );
  const fetched = await fetchKeysets(peers, { source: m.sim.controllers[0]!.identity.privateIp, token: TOKEN }, { intervalMs: 20, timeoutMs: 20_000, ...(onEvent ? { onEvent } : {}) });
  return { setup, fetched, license };
}

describe('setupController + fetchKeysets', () => {
  it('configures 4 fresh controllers, and a second run writes nothing', async () => {
    mesh = await startTestMesh({ controllers: 4 });
    const first = await setUpMesh(mesh);
    expect(first.setup.steps.map((s) => [s.step, s.changed])).toEqual([
      ['config.names', true],
      ['license.upload', true],
      ['license.accept', true],
      ['keyset.generate', true],
      ['peering.self', true],
    ]);
    expect(first.fetched.failed).toEqual([]);
    const rootKeyset = await mesh.clients[0]!.get('/keyset');
    for (const s of first.fetched.succeeded) {
      expect(s.value.changed).toBe(true);
      expect(s.value.checksum).toBe(rootKeyset.checksum);
    }
    expect(mesh.sim.controllers.every((c) => c.licensed)).toBe(true);
    expect(mesh.sim.controllers[0]!.peerId).toBe(1);

    mesh.sim.resetCounters();
    const second = await setUpMesh(mesh);
    expect(second.setup.steps.every((s) => !s.changed)).toBe(true);
    expect(second.fetched.succeeded.map((s) => s.value.changed)).toEqual([false, false, false]);
    expect(mesh.sim.totalWrites()).toBe(0);
    // It did read: the idempotency comes from reading, not from doing nothing.
    expect(mesh.sim.controllers[0]!.requestLog.length).toBeGreaterThan(0);
  });

  it('converges through 503s, dropped connections and a reboot in the middle', async () => {
    mesh = await startTestMesh({ controllers: 4 });
    const { sim } = mesh;
    sim.setFaults(0, { errorNext: 3 });
    sim.setFaults(1, { dropNext: 2 });
    sim.setFaults(2, { errorNext: 2, dropNext: 1 });
    const run = setUpMesh(mesh);
    // A reboot of a peer while the root is being set up.
    await sim.reboot(3);
    const { setup, fetched } = await run;
    expect(setup.steps.find((s) => s.step === 'license.accept')?.changed).toBe(true);
    expect(fetched.failed).toEqual([]);
    expect(sim.controllers.every((c) => c.licensed)).toBe(true);
    const logged = sim.controllers.flatMap((c) => c.requestLog.map((r) => r.status));
    expect(logged).toContain('dropped');
    expect(logged).toContain(503);
  });

  it('fails with an error naming the controller and the step when faults do not stop', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    mesh.sim.setFaults(0, { errorRate: 1 });
    const err = await setupController(mesh.clients[0]!, { license: mesh.sim.license(), keysetToken: TOKEN }, { intervalMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3StepError);
    expect((err as Vns3StepError).controller).toBe(mesh.clients[0]!.host);
    expect((err as Vns3StepError).step).toBe('config.read');
    expect((err as Error).message).toContain(mesh.clients[0]!.host);
  });
});

describe('fetchKeysetFromSource failures', () => {
  async function licensedRoot(m: TestMesh) {
    await setupController(m.clients[0]!, { license: m.sim.license(), keysetToken: TOKEN }, { intervalMs: 20 });
    return m.sim.controllers[0]!.identity.privateIp;
  }

  it('an unreachable source (partition) fails within the timeout, naming the cause', async () => {
    mesh = await startTestMesh({ controllers: 3 });
    const source = await licensedRoot(mesh);
    mesh.sim.partition(0, 1);
    const result = await fetchKeysets(mesh.clients.slice(1), { source, token: TOKEN }, { intervalMs: 20, timeoutMs: 15_000 });
    expect(result.succeeded.map((s) => s.controller)).toEqual([mesh.clients[2]!.host]);
    const failure = result.failed[0]!;
    expect(failure.controller).toBe(mesh.clients[1]!.host);
    expect(failure.error).toBeInstanceOf(Vns3KeysetFetchError);
    const err = failure.error as Vns3KeysetFetchError;
    expect(err.attempts).toBe(3);
    expect(err.source).toBe(source);
    expect(err.message).toMatch(/TCP 8000/);
    expect(err.message).toContain(source);
    expect(mesh.sim.controllers[1]!.licensed).toBe(false);
  });

  it('a crashed source fails the same way', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    const source = await licensedRoot(mesh);
    await mesh.sim.crash(0);
    const err = await fetchKeysetFromSource(mesh.clients[1]!, { source, token: TOKEN }, { intervalMs: 20, attempts: 2, timeoutMs: 15_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3KeysetFetchError);
    expect((err as Vns3KeysetFetchError).attempts).toBe(2);
  });

  it('a wrong token fails clearly', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    const source = await licensedRoot(mesh);
    const err = await fetchKeysetFromSource(mesh.clients[1]!, { source, token: 'not-the-token' }, { intervalMs: 20, timeoutMs: 15_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3KeysetFetchError);
    expect((err as Error).message).toMatch(/keyset token is wrong/);
    expect((err as Error).message).not.toContain('not-the-token');
  });

  it('a deadline shorter than the fetch is reported as a fetch failure with the cause', async () => {
    mesh = await startTestMesh({ controllers: 2, timings: { keysetFetchMs: 60_000 } });
    const source = await licensedRoot(mesh);
    const err = await fetchKeysetFromSource(mesh.clients[1]!, { source, token: TOKEN }, { intervalMs: 20, timeoutMs: 400 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3KeysetFetchError);
    expect((err as Error).message).toMatch(/timed out after 400 ms/);
  });

  it('an expectedChecksum that differs from the present keyset is an error', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    const source = await licensedRoot(mesh);
    await fetchKeysetFromSource(mesh.clients[1]!, { source, token: TOKEN }, { intervalMs: 20 });
    mesh.sim.resetCounters();
    const err = await fetchKeysetFromSource(mesh.clients[1]!, { source, token: TOKEN }, { expectedChecksum: 'ffff' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/expected ffff/);
    expect(mesh.sim.totalWrites()).toBe(0);
  });
});

describe('timeouts on hung requests', () => {
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

  it('setupController stops on a hung request with a Vns3TimeoutError inside the step error', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    mesh.sim.setFaults(0, { hangNext: 1000 });
    const err = await setupController(mesh.clients[0]!, { license: mesh.sim.license(), keysetToken: TOKEN }, { requestTimeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3StepError);
    expect(causes(err).some((c) => c instanceof Vns3TimeoutError)).toBe(true);
  });
});

describe('waitForApi', () => {
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

  it('waitForKeyset returns a present keyset, and fails at once when no attempt is running', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    await setupController(mesh.clients[0]!, { license: mesh.sim.license(), keysetToken: TOKEN }, { intervalMs: 20 });
    await expect(waitForKeyset(mesh.clients[0]!, { intervalMs: 10 })).resolves.toHaveProperty('keyset_present', true);
    await licenseControllers([mesh.clients[1]!], mesh.sim.license());
    const accepted = await acceptLicenses([mesh.clients[1]!], { default: true }, { reboot: { intervalMs: 20 } });
    expect(accepted.failed).toEqual([]);
    const err = await waitForKeyset(mesh.clients[1]!, { intervalMs: 10, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/ended without a keyset/);
  });
});
