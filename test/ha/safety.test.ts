import { describe, expect, it } from 'vitest';
import { createHaAgent } from '../../src/ha/index.js';
import { startHaBed, type HaBed } from '../../src/testing/index.js';
import { stopAfterEach } from './lifecycle.js';

let bed: HaBed;
const track = stopAfterEach();


describe('HA agent safety', () => {
  it('does not fail over when only the path between the pair is cut', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    // cloud_veto off: only the network witnesses' disagreement may prevent the failover here.
    const standby = createHaAgent({ ...bed.standbyConfig(1), cloudVeto: false }, bed.deps());
    track.agents(standby);
    await bed.rounds([standby], 2);
    bed.sim.resetCounters();
    bed.underlay.cut();
    bed.sim.partition(0, 1);
    await bed.rounds([standby], 12);
    const s = standby.status();
    expect(s.role).toBe('passive');
    expect(s.counters.failovers).toBe(0);
    expect(s.counters.splits).toBe(12);
    expect(s.lastCheck?.witnesses.map((w) => `${w.name}=${w.result}`)).toEqual(['underlay=down', 'public=up', 'mesh=down', 'cloud=up', 'observers=up']);
    expect(bed.ec2!.writes).toBe(0);
    expect(s.counters.vns3RouteWrites).toBe(0);
    expect((await bed.routes(1)).filter((r) => r.description?.startsWith('vns3-ha:'))).toEqual([]);
    // Healing brings the checks back to a clean "up".
    bed.underlay.restore();
    bed.sim.heal(0, 1);
    await bed.rounds([standby], 3, () => standby.status().lastCheck?.verdict === 'up');
    expect(standby.status().lastCheck?.verdict).toBe('up');
  });

  it('with two standbys only the higher-priority one acts', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const b = bed;
    const standbyEntry = (i: number, priority: number) => ({
      name: `sb${i}`,
      underlay_ip: b.ip(i),
      priority,
      api_url: b.url(i),
      api_password: b.sim.controllers[i]!.password,
    });
    const high = createHaAgent(bed.standbyConfig(1, { priority: 200, standbys: [standbyEntry(2, 100)] }), bed.deps());
    const low = createHaAgent(bed.standbyConfig(2, { priority: 100, standbys: [standbyEntry(1, 200)] }), bed.deps());
    track.agents(high, low);
    await bed.rounds([high, low], 2);
    bed.sim.resetCounters();
    await bed.crash(0, 'stopped');
    await bed.rounds([high, low], 10, () => high.status().role === 'active');
    await bed.rounds([high, low], 4);
    expect(high.status().role).toBe('active');
    expect(low.status().role).toBe('passive');
    expect(low.status().counters.deferrals).toBeGreaterThan(0);
    expect(low.status().counters.failovers).toBe(0);
    expect(low.status().counters.vns3RouteWrites).toBe(0);
    expect((await bed.routes(2)).filter((r) => r.description?.startsWith('vns3-ha:') && r.editable !== false)).toEqual([]);
    expect(bed.ec2!.route('rtb-b', bed.routed[1]!)?.networkInterfaceId).toBe('eni-vns31');

    // The acting standby dies too: the next one takes over from it.
    await bed.crash(1, 'stopped');
    await bed.rounds([low], 10, () => low.status().role === 'active');
    expect(low.status().role).toBe('active');
    expect(bed.ec2!.route('rtb-b', bed.routed[1]!)?.networkInterfaceId).toBe('eni-vns32');
  });

  it('loses 20% of probes at random during a bounded run without a single failover', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'overlay' }));
    const standby = createHaAgent(bed.standbyConfig(1), bed.deps());
    track.agents(standby);
    await bed.rounds([standby], 2);
    bed.sim.resetCounters();
    bed.sim.setFaults(0, { dropRate: 0.2 });
    bed.sim.setFaults(1, { dropRate: 0.2 });
    await bed.rounds([standby], 60);
    const s = standby.status();
    const lossy = s.recentChecks.filter((c) => c.witnesses.some((w) => w.result !== 'up'));
    // The faults really bit, yet nothing moved.
    expect(lossy.length).toBeGreaterThan(0);
    expect(s.counters.checks).toBe(62);
    expect(s.counters.failovers).toBe(0);
    expect(s.role).toBe('passive');
    expect(s.counters.vns3RouteWrites).toBe(0);
  });
});
