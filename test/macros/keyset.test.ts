import { afterEach, describe, expect, it } from 'vitest';
import { acceptLicenses, fetchKeysetFromSource, fetchKeysets, licenseControllers, setupController, Vns3KeysetFetchError, waitForKeyset } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

const TOKEN = 'keyset-token-Zq9-never-shown';
let mesh: TestMesh | undefined;
afterEach(async () => {
  await mesh?.stop();
  mesh = undefined;
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

describe('waitForKeyset', () => {
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
