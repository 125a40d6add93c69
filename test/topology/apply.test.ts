import { describe, expect, it } from 'vitest';
import type { Vns3Event } from '../../src/events.js';
import { Vns3MeshNotReadyError } from '../../src/macros/index.js';
import { applyTopology, formatPlan, loadTopology, planTopology, readStatus, type Topology } from '../../src/topology/index.js';
import { meshYaml, topologyBed } from './helpers.js';

const ENV = { KEYSET_TOKEN: 'apply-test-token' };

describe('applyTopology and planTopology on three simulated controllers', () => {
  const bed = topologyBed(3, ENV);

  it('applies a full mesh with progress events, then a changed file (a route added, a link removed) with exactly those writes', async () => {
    const full = await bed.load('full.yaml', meshYaml(3));
    const events: Vns3Event[] = [];
    const first = await applyTopology(full, { onEvent: (e) => void events.push(e), clients: bed.mesh.clients });
    expect(first.applied).toBe(true);
    expect(first.status.ok).toBe(true);
    expect(events.filter((e) => e.step === 'topology.phase').map((e) => e.detail)).toEqual([
      'ctl1: license, parameters, reboot, keyset',
      'the others fetch the keyset from ctl1',
      'peer ids',
      '/32 routes to every peer via the local subnet gateway',
      'peering (full mesh)',
      'route advertisements for each subnet',
      'waiting until every link is up',
      'reading the mesh back',
    ]);

    const changedText = meshYaml(
      3,
      ['peering:', '  mesh: { ctl1: [ctl2, ctl3] }'].join('\n'),
    ).replace(/( {4}subnet: \$\{var\.controllers\[0\]\.subnet\})/, '$1\n    routes:\n      - { cidr: 192.168.50.0/24, gateway: 10.1.1.1, interface: eth0, description: to the DC }');
    const changed = await bed.load('changed.yaml', changedText);
    const plan = await planTopology(changed, { clients: bed.mesh.clients });
    const lines = plan.controllers.map((c) => [c.name, c.changes.map((ch) => `${ch.action} ${ch.summary}`)]);
    expect(lines).toEqual([
      ['ctl1', ['+ route 192.168.50.0/24 via 10.1.1.1 (eth0)']],
      ['ctl2', ['- peer 3 at 10.3.1.10']],
      ['ctl3', ['- peer 2 at 10.2.1.10']],
    ]);
    expect(formatPlan(plan)).toMatch(/Plan: 1 to add, 0 to change, 2 to remove; 1 wait\(s\)\.$/);

    bed.mesh.sim.resetCounters();
    const second = await applyTopology(changed, { clients: bed.mesh.clients });
    expect(second.status.ok).toBe(true);
    expect(bed.mesh.sim.totalWrites()).toBe(3);
    const again = await planTopology(changed, { clients: bed.mesh.clients });
    expect(again.changed).toBe(false);
  });

  it('a confirmation that says no writes nothing; a link that cannot come up is reported, not hidden', async () => {
    const full = await bed.load('full2.yaml', meshYaml(3));
    const withRoute = await bed.load('route.yaml', meshYaml(3).replace(/( {4}subnet: \$\{var\.controllers\[1\]\.subnet\})/, '$1\n    routes: [{ cidr: 172.16.0.0/16, gateway: 10.2.1.1 }]'));
    bed.mesh.sim.resetCounters();
    const declined = await applyTopology(withRoute, { clients: bed.mesh.clients, confirm: () => false });
    expect(declined.applied).toBe(false);
    expect(declined.plan.changed).toBe(true);
    expect(bed.mesh.sim.totalWrites()).toBe(0);

    bed.mesh.sim.partition(1, 2);
    try {
      const error = await applyTopology(full, { clients: bed.mesh.clients, timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Vns3MeshNotReadyError);
      expect((error as Error).message).toMatch(/id 2\) -> id 3 at 10\.3\.1\.10: not reachable/);
      const status = await readStatus(full, { clients: bed.mesh.clients });
      expect(status.ok).toBe(false);
      expect(status.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^ctl2 -> ctl3 \(id 3\): not reachable/)]));
    } finally {
      bed.mesh.sim.healAll();
    }
  });
});
