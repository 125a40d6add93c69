import { afterEach, describe, expect, it } from 'vitest';
import { Vns3TimeoutError } from '../../src/client/index.js';
import type { Vns3Event } from '../../src/events.js';
import { fetchKeysets, setupController, Vns3StepError } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

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
    { intervalMs: 20, onEvent },
  );
  const fetched = await fetchKeysets(peers, { source: m.sim.controllers[0]!.identity.privateIp, token: TOKEN }, { intervalMs: 20, timeoutMs: 20_000, onEvent });
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

  it('fails with an error naming the controller and the step when faults do not stop, once the retry budget is spent', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    mesh.sim.setFaults(0, { errorRate: 1 });
    const events: string[] = [];
    const retryBudget = { attempts: 3, minDelayMs: 5 };
    const onEvent = (e: { step: string; level?: string }): void => void (e.level === 'warn' && events.push(e.step));
    const err = await setupController(mesh.clients[0]!, { license: mesh.sim.license(), keysetToken: TOKEN }, { intervalMs: 10, retryBudget, onEvent }).catch((e: unknown) => e);
    // Two re-reads after the first attempt, then the last error.
    expect(events.filter((s) => s === 'setup')).toHaveLength(2);
    expect(err).toBeInstanceOf(Vns3StepError);
    expect((err as Vns3StepError).controller).toBe(mesh.clients[0]!.host);
    expect((err as Vns3StepError).step).toBe('config.read');
    expect((err as Error).message).toContain(mesh.clients[0]!.host);
  });
});

describe('setupController on hung requests', () => {
  it('setupController stops on a hung request with a Vns3TimeoutError inside the step error', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    mesh.sim.setFaults(0, { hangNext: 1000 });
    const err = await setupController(mesh.clients[0]!, { license: mesh.sim.license(), keysetToken: TOKEN }, { requestTimeoutMs: 100, retryBudget: { attempts: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3StepError);
    expect(causes(err).some((c) => c instanceof Vns3TimeoutError)).toBe(true);
  });
});
