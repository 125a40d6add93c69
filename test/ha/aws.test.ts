import { beforeEach, describe, expect, it } from 'vitest';
import { createHaAgent } from '../../src/ha/index.js';
import type { Vns3Event } from '../../src/events.js';
import { startHaBed, type HaBed } from '../../src/testing/index.js';
import { stopAfterEach } from './lifecycle.js';

const MARKER = 'vns3-ha: assumed from 10.0.1.10';

let bed: HaBed;
const track = stopAfterEach();

beforeEach(async () => {
  bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
});

function cloudTargets(): string[] {
  return [
    bed.ec2!.route('rtb-a', bed.routed[0]!),
    bed.ec2!.route('rtb-b', bed.routed[0]!),
    bed.ec2!.route('rtb-b', bed.routed[1]!),
  ].map((r) => r?.networkInterfaceId ?? r?.instanceId ?? 'none');
}

describe('HA agent on AWS (EC2 emulator + simulator)', () => {
  it('fails over when the primary crashes, then fails back once without flapping', async () => {
    const events: Vns3Event[] = [];
    const standby = createHaAgent(bed.standbyConfig(1), bed.deps(events));
    const primary = createHaAgent(bed.primaryConfig(1), bed.deps());
    track.agents(standby, primary);

    await bed.rounds([standby, primary], 3);
    expect(standby.status().role).toBe('passive');
    expect(primary.status().role).toBe('active');
    expect(standby.status().snapshot.cloud).toHaveLength(3);
    expect(standby.status().snapshot.vns3.map((r) => r.cidr)).toEqual([bed.primaryLan]);
    expect(bed.ec2!.writes).toBe(0);

    await bed.crash(0, 'stopped');
    const n = await bed.rounds([standby, primary], 10, () => standby.status().role === 'active');
    expect(standby.status().role).toBe('active');
    // Three failed checks in a row, no fewer.
    expect(n).toBeGreaterThanOrEqual(3);
    expect(cloudTargets()).toEqual(['eni-vns31', 'eni-vns31', 'eni-vns31']);
    const assumed = (await bed.routes(1)).filter((r) => r.description === MARKER);
    expect(assumed).toEqual([expect.objectContaining({ cidr: bed.primaryLan, advertise: true })]);
    // The third controller learns the primary's LAN from the standby now.
    await bed.waitFor('observer learns route', async () => (await bed.routes(2)).some((r) => r.cidr === bed.primaryLan && r.editable === false));
    const failover = standby.status().lastFailover!;
    expect(failover.cloudRoutes.filter((c) => c.action === 'replaced')).toHaveLength(3);
    expect(failover.firstFailedCheckAt).toBeLessThanOrEqual(failover.detectedAt);
    expect(primary.status().role).toBe('passive');
    expect(events.some((e) => e.step === 'ha.failover.done')).toBe(true);
    const check = events.find((e) => e.step === 'ha.check' && (e.data as { verdict?: string }).verdict === 'down');
    expect((check?.data as { witnesses: { name: string; result: string }[] }).witnesses.map((w) => `${w.name}=${w.result}`)).toEqual([
      'underlay=down',
      'public=down',
      'mesh=down',
      'cloud=down',
      'observers=down',
    ]);

    // While active, a route changed behind the standby's back is put right.
    bed.ec2!.setRouteTarget('rtb-a', bed.routed[0]!, { gatewayId: 'igw-1' });
    await bed.rounds([standby, primary], 1);
    expect(cloudTargets()[0]).toBe('eni-vns31');

    const writesAfterFailover = bed.ec2!.writes;
    await bed.restore(0);
    await bed.rounds([standby, primary], 25, () => primary.status().role === 'active');
    expect(primary.status().role).toBe('active');
    expect(standby.status().role).toBe('passive');
    expect(cloudTargets()).toEqual(['eni-vns30', 'eni-vns30', 'eni-vns30']);
    expect((await bed.routes(1)).filter((r) => r.description === MARKER)).toEqual([]);

    // No flapping: further checks write nothing and nobody changes role.
    const writes = bed.ec2!.writes;
    await bed.rounds([standby, primary], 8);
    expect(bed.ec2!.writes).toBe(writes);
    expect(writes - writesAfterFailover).toBe(3);
    expect(standby.status().counters).toMatchObject({ failovers: 1, releases: 1 });
    expect(primary.status().counters).toMatchObject({ failbacks: 1 });
    expect(primary.status().role).toBe('active');
  });

  it('with cloud_veto (default), a crash the cloud does not confirm moves nothing; without it, routes move', async () => {
    const vetoing = createHaAgent(bed.standbyConfig(1), bed.deps());
    track.agents(vetoing);
    await bed.rounds([vetoing], 2);
    bed.sim.resetCounters();
    await bed.crash(0, 'running');
    await bed.rounds([vetoing], 8);
    expect(vetoing.status().role).toBe('passive');
    expect(vetoing.status().counters.vetoes).toBeGreaterThanOrEqual(8);
    expect(bed.ec2!.writes).toBe(0);
    expect(vetoing.status().counters.vns3RouteWrites).toBe(0);

    const withoutVeto = createHaAgent({ ...bed.standbyConfig(1), cloudVeto: false }, bed.deps());
    track.agents(withoutVeto);
    await bed.rounds([withoutVeto], 6, () => withoutVeto.status().role === 'active');
    expect(withoutVeto.status().role).toBe('active');
    expect(cloudTargets()).toEqual(['eni-vns31', 'eni-vns31', 'eni-vns31']);
  });

  it('dry run computes the plan and writes nothing', async () => {
    const events: Vns3Event[] = [];
    const standby = createHaAgent(bed.standbyConfig(1, { dry_run: true }), bed.deps(events));
    track.agents(standby);
    await bed.rounds([standby], 2);
    const before = cloudTargets();
    const plan = await standby.plan();
    expect(plan.cloudRoutes).toHaveLength(3);
    expect(plan.vns3Routes).toEqual([{ action: 'created', cidr: bed.primaryLan }]);
    bed.sim.resetCounters();
    await bed.crash(0, 'stopped');
    await bed.rounds([standby], 6, () => standby.status().counters.failovers > 0);
    const status = standby.status();
    expect(status.lastFailover).toMatchObject({ dryRun: true });
    expect(status.lastFailover!.cloudRoutes.filter((c) => c.action === 'replaced')).toHaveLength(3);
    expect(bed.ec2!.writes).toBe(0);
    expect(bed.sim.totalWrites()).toBe(0);
    expect(cloudTargets()).toEqual(before);
    expect(before).not.toContain('eni-vns31');
    expect(events.filter((e) => e.step === 'ha.route.cloud').every((e) => /dry run/.test(e.detail ?? ''))).toBe(true);
  });
});
