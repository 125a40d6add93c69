/**
 * One call of each mesh macro converges on a flaky mesh (seeded 503s and dropped connections on
 * every controller): every controller ends configured, nothing is duplicated, a POST that failed is
 * never re-sent before a read, a clean re-run writes nothing, and waitForMesh treats its own failed
 * reads as "unknown", not as a link down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  ensureFirewallPolicy,
  peerMesh,
  setPeerIds,
  waitForMesh,
  type BulkResult,
} from '../../src/macros/index.js';
import { licenseMesh, startTestMesh, type TestMesh } from '../../src/testing/index.js';

const FAST = { intervalMs: 10, maxIntervalMs: 100 };
const BUDGET = { retryBudget: { minDelayMs: 5, maxDelayMs: 50 } };
const RULES = ['INPUT_CUST -s 192.0.2.0/24 -j ACCEPT', 'FORWARD_CUST -j DROP', 'MACRO_CUST -o eth0 -s 198.51.100.2/32 -j MASQUERADE'];

describe('mesh macros converge in one call under faults', () => {
  let mesh: TestMesh;
  const ok = <T>(r: BulkResult<T>): T[] => {
    expect(r.failed.map((f) => `${f.controller}: ${f.error.message}`)).toEqual([]);
    return r.succeeded.map((s) => s.value);
  };
  const faults = (on: boolean): void => {
    for (let i = 0; i < mesh.sim.controllers.length; i++) {
      mesh.sim.setFaults(i, on ? { errorRate: 0.2, dropRate: 0.1 } : { errorRate: 0, dropRate: 0 });
    }
  };

  beforeAll(async () => {
    // A client that does not retry on its own: every fault reaches the macros' reconcile loop.
    mesh = await startTestMesh({ controllers: 4, seed: 12, client: { timeoutMs: 5_000, retry: false } });
    await licenseMesh(mesh).catch(async () => licenseMesh(mesh));
  }, 60_000);
  afterAll(async () => {
    await mesh?.stop();
  });

  it('setPeerIds, peer routes, peerMesh, advertisements, firewall: converged, no duplicate, POSTs re-sent only after a read', async () => {
    const subnets = mesh.sim.controllers.map((c) => c.identity.subnet);
    mesh.sim.resetCounters();
    faults(true);
    try {
      ok(await setPeerIds(mesh.clients, BUDGET));
      ok(await createPeerMeshLocalGatewayRoutes(mesh.clients, { subnets }, BUDGET));
      ok(await peerMesh(mesh.clients, BUDGET));
      ok(await createRouteAdvertisements(mesh.clients, { subnets }, BUDGET));
      ok(await ensureFirewallPolicy(mesh.clients, RULES, BUDGET));
      const failedPosts = mesh.sim.controllers.flatMap((c) => c.requestLog).filter((r) => r.method === 'POST' && !(typeof r.status === 'number' && r.status < 300));
      expect(failedPosts.length).toBeGreaterThan(0);
    } finally {
      faults(false);
    }

    // After a failed POST, the next request to that controller is a read, never the POST again.
    for (const c of mesh.sim.controllers) {
      const log = c.requestLog;
      log.forEach((r, i) => {
        if (r.method === 'POST' && !(typeof r.status === 'number' && r.status < 300) && i + 1 < log.length) expect(log[i + 1]!.method, `${c.name} after ${r.path}`).toBe('GET');
      });
    }

    for (const [i, client] of mesh.clients.entries()) {
      const peering = await client.get('/peering');
      expect(peering.id).toBe(i + 1);
      const peers = Object.values(peering.controllers ?? peering.managers ?? {}).filter((m) => !m.self && !m.not_set);
      expect(peers).toHaveLength(3);
      const routes = Object.values(await client.get('/routes')).filter((r) => r.editable !== false);
      const keys = routes.map((r) => `${r.cidr}|${r.gateway}|${r.advertise}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(routes.filter((r) => r.cidr.endsWith('/32'))).toHaveLength(3);
      expect(routes.filter((r) => r.advertise === true)).toHaveLength(1);
      expect((await client.get('/firewall/rules')).map((e) => e[0])).toEqual(RULES);
    }

    mesh.sim.resetCounters();
    ok(await setPeerIds(mesh.clients));
    ok(await createPeerMeshLocalGatewayRoutes(mesh.clients, { subnets }));
    ok(await peerMesh(mesh.clients));
    ok(await createRouteAdvertisements(mesh.clients, { subnets }));
    ok(await ensureFirewallPolicy(mesh.clients, RULES));
    expect(mesh.sim.totalWrites()).toBe(0);
  }, 120_000);

  it('waitForMesh: a read that fails is "unknown", so a working mesh is reported up under 90% 503s (a full read of all 4 in one probe: 1 in 10 000)', async () => {
    await waitForMesh(mesh.clients, { timeoutMs: 20_000, ...FAST });
    for (let i = 0; i < mesh.sim.controllers.length; i++) mesh.sim.setFaults(i, { errorRate: 0.9 });
    try {
      const links = await waitForMesh(mesh.clients, { timeoutMs: 20_000, ...FAST });
      expect(links).toHaveLength(12);
      expect(links.every((l) => l.reachable)).toBe(true);
    } finally {
      mesh.sim.clearFaults();
    }
  }, 60_000);
});
