import { describe, expect, it } from 'vitest';
import { createHaAgent } from '../../src/ha/index.js';
import { startHaBed, type HaBed } from '../../src/testing/index.js';
import { stopAfterEach } from './lifecycle.js';

let bed: HaBed;
const track = stopAfterEach();


describe('HA agent on Azure and on the overlay alone', () => {
  it('azure: a deallocated primary has its next hops and VNS3 routes moved, then given back', async () => {
    bed = track.bed(await startHaBed({ controllers: 2, cloud: 'azure' }));
    const standby = createHaAgent(bed.standbyConfig(1), bed.deps());
    const primary = createHaAgent(bed.primaryConfig(1), bed.deps());
    track.agents(standby, primary);
    await bed.rounds([standby, primary], 2);
    await bed.crash(0, 'stopped');
    await bed.rounds([standby, primary], 10, () => standby.status().role === 'active');
    expect(bed.azure!.route('rt-a', bed.routed[0]!)?.nextHopIpAddress).toBe(bed.ip(1));
    expect(bed.azure!.route('rt-b', bed.routed[1]!)?.nextHopIpAddress).toBe(bed.ip(1));
    expect((await bed.routes(1)).some((r) => r.cidr === bed.primaryLan && r.advertise && r.editable !== false)).toBe(true);

    await bed.restore(0);
    await bed.rounds([standby, primary], 25, () => primary.status().role === 'active');
    expect(bed.azure!.route('rt-a', bed.routed[0]!)?.nextHopIpAddress).toBe(bed.ip(0));
    expect(bed.azure!.route('rt-b', bed.routed[1]!)?.nextHopIpAddress).toBe(bed.ip(0));
    const writes = bed.azure!.writes;
    await bed.rounds([standby, primary], 6);
    expect(bed.azure!.writes).toBe(writes);
  });

  it('overlay: only VNS3 routes move, and are withdrawn exactly when the primary is back', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'overlay' }));
    // An operator's own route on the standby must survive the withdrawal.
    await bed.clients[1]!.post('/routes', { body: { cidr: '10.99.0.0/16', description: 'ops', advertise: false } } as never);
    const standby = createHaAgent(bed.standbyConfig(1), bed.deps());
    track.agents(standby);
    await bed.rounds([standby], 2);
    await bed.crash(0);
    await bed.rounds([standby], 10, () => standby.status().role === 'active');
    expect(standby.status().role).toBe('active');
    expect((await bed.routes(1)).filter((r) => r.description?.startsWith('vns3-ha:')).map((r) => r.cidr)).toEqual([bed.primaryLan]);
    // Deleted behind its back: the active standby re-creates it.
    const map = (await bed.clients[1]!.get('/routes')) as Record<string, { description: string | null }>;
    const id = Object.entries(map).find(([, r]) => r.description?.startsWith('vns3-ha:'))![0];
    await bed.clients[1]!.delete('/routes/{route_id}', { params: { path: { route_id: Number(id) } } } as never);
    await bed.rounds([standby], 1);
    expect((await bed.routes(1)).some((r) => r.description?.startsWith('vns3-ha:'))).toBe(true);

    await bed.restore(0);
    await bed.rounds([standby], 10, () => standby.status().role === 'passive');
    const after = await bed.routes(1);
    expect(after.some((r) => r.description?.startsWith('vns3-ha:'))).toBe(false);
    expect(after.some((r) => r.cidr === '10.99.0.0/16' && r.description === 'ops')).toBe(true);
    expect(standby.status().counters).toMatchObject({ failovers: 1, releases: 1 });
  });

  it('preempt off: the standby keeps the routes after the primary recovers', async () => {
    bed = track.bed(await startHaBed({ controllers: 2, cloud: 'aws' }));
    const standby = createHaAgent(bed.standbyConfig(1, { preempt: false }), bed.deps());
    const primary = createHaAgent(bed.primaryConfig(1, { preempt: false }), bed.deps());
    track.agents(standby, primary);
    await bed.rounds([standby, primary], 2);
    await bed.crash(0, 'stopped');
    await bed.rounds([standby, primary], 10, () => standby.status().role === 'active');
    await bed.restore(0);
    await bed.rounds([standby, primary], 12);
    expect(standby.status().role).toBe('active');
    expect(primary.status().role).toBe('passive');
    expect(primary.status().reason).toMatch(/preempt off/);
    expect(bed.ec2!.route('rtb-b', bed.routed[1]!)?.networkInterfaceId).toBe('eni-vns31');
  });
});
