/**
 * Brings fresh simulated controllers to "licensed, same keyset" through the config macros:
 * setupController on the first (license, accept with its reboot, generate the keyset), then
 * fetchKeysets on the others in parallel (each reboots after fetching). Used by the peering,
 * routing and firewall tests, which start from that point.
 */
import { assertBulkOk } from '../../src/macros/index.js';
import { fetchKeysets, setupController } from '../../src/macros/index.js';
import type { TestMesh } from './sim.js';

const FAST = { intervalMs: 25, maxIntervalMs: 200 };

/** Licenses controller 0 as root with a keyset and fetches it on every other controller. */
export async function licenseMesh(mesh: TestMesh, options: { token?: string; licensedControllers?: number } = {}): Promise<void> {
  const token = options.token ?? 'test-keyset-token';
  const [root, ...peers] = mesh.clients;
  if (!root) throw new Error('empty mesh');
  const license = mesh.sim.license(options.licensedControllers ? { controllers: options.licensedControllers } : {});
  await setupController(root, { license, keysetToken: token, waitTimeoutMs: 20_000 }, { intervalMs: FAST.intervalMs, reboot: { ...FAST, rebootStartTimeoutMs: 2_000 } });
  if (peers.length === 0) return;
  const fetched = await fetchKeysets(
    peers,
    { source: mesh.sim.controllers[0]!.identity.privateIp, token },
    { timeoutMs: 20_000, ...FAST, reboot: { ...FAST, rebootStartTimeoutMs: 2_000 } },
  );
  assertBulkOk(fetched, 'keyset fetch');
}
