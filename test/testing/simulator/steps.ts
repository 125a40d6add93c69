/**
 * Shared steps of the simulator tests: bounded polling and bringing simulated controllers to a
 * licensed, keyed, peered state through the SDK client (each step as a user would take it).
 */
import { Vns3ApiError, type Vns3Client } from '../../../src/client/index.js';
import type { TestMesh } from '../../../src/testing/index.js';
import { sleep } from '../../../src/abort.js';

/** Polls `probe` until `done` holds; throws after `timeoutMs`. Probe errors count as "not yet". */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 5_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (done(value)) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${String((last as Error)?.message ?? JSON.stringify(last))}`);
    await sleep(intervalMs);
  }
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export async function apiErrorOf(promise: Promise<unknown>): Promise<Vns3ApiError> {
  const err = await failureOf(promise);
  if (!(err instanceof Vns3ApiError)) throw new Error(`expected a Vns3ApiError, got ${String(err)}`);
  return err;
}

export async function waitLicensed(client: Vns3Client): Promise<void> {
  await waitFor('licensed: true', () => client.get('/config', { timeoutMs: 1_000 }), (c) => c.licensed === true);
}

/** Uploads and accepts a license on controller `index`, then waits out its reboot. */
export async function licenseRoot(mesh: TestMesh, index = 0): Promise<void> {
  const client = mesh.clients[index]!;
  await client.put('/license', { body: mesh.sim.license() });
  await client.put('/license/parameters', { body: { default: true } });
  await waitLicensed(client);
}

export async function waitKeyset(client: Vns3Client): Promise<{ checksum?: string | null }> {
  return waitFor(
    'keyset_present',
    () => client.get('/keyset', { timeoutMs: 1_000 }),
    (k) => k.keyset_present === true && k.in_progress === false,
  );
}

/** License the root, generate its keyset, fetch it on every other controller (parallel). */
export async function keyAll(mesh: TestMesh, token = 'mesh-token'): Promise<void> {
  await licenseRoot(mesh);
  const [root, ...others] = mesh.clients;
  await root!.put('/keyset', { body: { token } });
  await waitKeyset(root!);
  const source = mesh.sim.controllers[0]!.identity.privateIp;
  await Promise.all(
    others.map(async (c) => {
      await c.put('/keyset', { body: { token, source } });
      await waitKeyset(c);
      await waitLicensed(c);
    }),
  );
}

/** Keys every controller, sets ids 1…n and adds every pair both ways (by private IP). */
export async function peerAll(mesh: TestMesh): Promise<void> {
  await keyAll(mesh);
  const { controllers } = mesh.sim;
  await Promise.all(mesh.clients.map((c, i) => c.put('/peering/self', { body: { id: i + 1 } })));
  for (const [i, client] of mesh.clients.entries()) {
    for (const [j, other] of controllers.entries()) {
      if (i !== j) await client.post('/peering/peers', { body: { id: j + 1, name: other.identity.privateIp } });
    }
  }
}

export async function waitReachable(client: Vns3Client, peerId: number, reachable: boolean): Promise<void> {
  await waitFor(
    `peer ${peerId} reachable=${reachable}`,
    () => client.get('/peering', { timeoutMs: 1_000 }),
    (p) => (p.managers as Record<string, { reachable?: boolean }> | undefined)?.[String(peerId)]?.reachable === reachable,
  );
}
