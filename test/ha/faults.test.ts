/**
 * Issue 11: the ways an agent could strand traffic on a dead primary or split the brain, each
 * driven through the real SDK clients against the simulator and the cloud emulators.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Vns3Event } from '../../src/events.js';
import { createHaAgent, parseHaConfig, Vns3HaConfigError, type HaAgent } from '../../src/ha/index.js';
import { startHaBed, type HaBed } from '../../src/testing/index.js';
import { stopAfterEach } from './lifecycle.js';

let bed: HaBed;
const track = stopAfterEach();
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const WRITES = { aws: ['ReplaceRoute', 'CreateRoute'], azure: ['routes.createOrUpdate'] } as const;

/** Where each routed destination points now: the controller index, or the raw target. */
function cloudHolders(): string[] {
  if (bed.ec2) {
    return [bed.ec2.route('rtb-a', bed.routed[0]!), bed.ec2.route('rtb-b', bed.routed[0]!), bed.ec2.route('rtb-b', bed.routed[1]!)].map((r) =>
      (r?.networkInterfaceId ?? r?.instanceId ?? 'none').replace(/^(eni|i)-vns3/, ''),
    );
  }
  return [bed.azure!.route('rt-a', bed.routed[0]!), bed.azure!.route('rt-b', bed.routed[1]!)].map((r) => {
    const i = [0, 1, 2].find((j) => bed.ip(j) === r?.nextHopIpAddress);
    return i === undefined ? String(r?.nextHopIpAddress) : String(i);
  });
}

function setCloudFaults(faults: Record<string, unknown>): void {
  if (bed.ec2) bed.ec2.faults = faults;
  if (bed.azure) bed.azure.faults = faults;
}

async function assumedOn(i: number): Promise<string[]> {
  return (await bed.routes(i)).filter((r) => r.description?.startsWith('vns3-ha:') && r.editable !== false).map((r) => r.cidr);
}

function standbyEntry(i: number, priority: number): Record<string, unknown> {
  return { name: `sb${i}`, underlay_ip: bed.ip(i), priority, api_url: bed.url(i), api_password: bed.sim.controllers[i]!.password };
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'vns3-ha-state-'));
  dirs.push(d);
  return d;
}

describe.each(['aws', 'azure'] as const)('%s: cloud faults during a failover', (cloud) => {
  it('a failed cloud write is retried every check until every route reads back as moved, never taken for the primary taking them back', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud }));
    const events: Vns3Event[] = [];
    const standby = createHaAgent(bed.standbyConfig(1), bed.deps(events));
    const primary = createHaAgent(bed.primaryConfig(1), bed.deps());
    track.agents(standby, primary);
    await bed.rounds([standby, primary], 3);
    await bed.crash(0, 'stopped');
    setCloudFaults({ failRate: 1, operations: [...WRITES[cloud]] });
    await bed.rounds([standby, primary], 10, () => standby.status().role === 'active');
    const done = events.find((e) => e.step === 'ha.failover.done');
    expect(done?.level).toBe('error');
    expect(done?.detail).toMatch(/^partial failover: 0 of \d cloud route\(s\) and 1 VNS3 route\(s\) created of 1/);
    expect(standby.status().lastFailover).toMatchObject({ complete: false });
    // The cloud keeps failing: the standby keeps trying, and never reads the old targets as a take-back.
    await bed.rounds([standby, primary], 5);
    expect(standby.status()).toMatchObject({ role: 'active', counters: { yields: 0, releases: 0 } });
    expect(cloudHolders().every((h) => h === '0')).toBe(true);
    setCloudFaults({});
    const n = await bed.rounds([standby, primary], 10, () => standby.status().lastFailover?.complete === true);
    expect(n).toBeLessThanOrEqual(3);
    expect(cloudHolders().every((h) => h === '1')).toBe(true);
    expect(await assumedOn(1)).toEqual([bed.primaryLan]);
    expect(events.some((e) => e.step === 'ha.failover.complete')).toBe(true);
  });

  it('a cloud call that never answers ends at its deadline: checks go on, and the failover completes once the cloud answers', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud }));
    const standby = createHaAgent(bed.standbyConfig(1), { ...bed.deps(), cloudTimeoutMs: 300 });
    track.agents(standby);
    await bed.rounds([standby], 3);
    await bed.crash(0, 'stopped');
    setCloudFaults({ hang: true, operations: [...WRITES[cloud]] });
    await bed.rounds([standby], 6);
    const s = standby.status();
    expect(s.counters.checks).toBe(9);
    expect(s.role).toBe('active');
    expect(s.lastFailover!.errors.join(' ')).toMatch(/no answer within \d+ ms/);
    expect(s.recentChecks.slice(-2).every((c) => /no answer within/.test(c.error ?? ''))).toBe(true);
    setCloudFaults({});
    await bed.rounds([standby], 10, () => standby.status().lastFailover?.complete === true);
    expect(cloudHolders().every((h) => h === '1')).toBe(true);
  });
});

describe.each(['aws', 'azure'] as const)('%s: cloud throttling and hangs', (cloud) => {
  it('writes throttled during the failover (the SDK\'s own retries included): re-driven until moved, never a take-back', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud }));
    const standby = createHaAgent(bed.standbyConfig(1), { ...bed.deps(), cloudTimeoutMs: 600 });
    const primary = createHaAgent(bed.primaryConfig(1), bed.deps());
    track.agents(standby, primary);
    await bed.rounds([standby, primary], 3);
    await bed.crash(0, 'stopped');
    setCloudFaults({ throttleRate: 1, operations: [...WRITES[cloud]] });
    await bed.rounds([standby, primary], 10, () => standby.status().role === 'active');
    await bed.rounds([standby, primary], 3);
    expect(standby.status()).toMatchObject({ role: 'active', counters: { yields: 0, releases: 0 } });
    expect(standby.status().lastFailover?.complete).toBe(false);
    expect(standby.status().lastFailover?.errors.join(' ')).toMatch(/RequestLimitExceeded|TooManyRequests|throttl|no answer within/i);
    expect(cloudHolders().every((h) => h === '0')).toBe(true);
    setCloudFaults({});
    await bed.rounds([standby, primary], 10, () => standby.status().lastFailover?.complete === true);
    expect(cloudHolders().every((h) => h === '1')).toBe(true);
  });

  it('a cloud that hangs during the failback: checks go on, the primary takes the routes back once it answers, and the two never assert at once', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud }));
    const standby = createHaAgent(bed.standbyConfig(1), { ...bed.deps(), cloudTimeoutMs: 300 });
    const primary = createHaAgent(bed.primaryConfig(1), { ...bed.deps(), cloudTimeoutMs: 300 });
    track.agents(standby, primary);
    await bed.rounds([standby, primary], 3);
    await bed.crash(0, 'stopped');
    await bed.rounds([standby, primary], 10, () => standby.status().lastFailover?.complete === true);
    await bed.restore(0);
    setCloudFaults({ hang: true, operations: [...WRITES[cloud]] });
    let overlaps = 0;
    const checksBefore = primary.status().counters.checks;
    for (let r = 0; r < 12; r++) {
      await bed.rounds([standby, primary], 1);
      if (standby.status().role === 'active' && primary.status().role === 'active') overlaps++;
    }
    expect(primary.status().counters.checks - checksBefore).toBe(12);
    expect(cloudHolders().every((h) => h === '1')).toBe(true);
    setCloudFaults({});
    await bed.rounds([standby, primary], 20, () => primary.status().role === 'active' && cloudHolders().every((h) => h === '0'));
    expect(cloudHolders().every((h) => h === '0')).toBe(true);
    expect(overlaps).toBe(0);
    expect(standby.status().role).toBe('passive');
  });
});

describe('agents see each other (leases)', () => {
  it.each([
    ['not running at all', false],
    ['running only as a dry run (never acts, publishes no lease)', true],
  ])('a higher-priority standby whose agent is %s does not block a lower one (its controller is up)', async (_, dryRunning) => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const low = createHaAgent(bed.standbyConfig(2, { priority: 100, standbys: [standbyEntry(1, 200)] }), bed.deps());
    const high = createHaAgent(bed.standbyConfig(1, { priority: 200, standbys: [standbyEntry(2, 100)], dry_run: true }), bed.deps());
    track.agents(low, high);
    const agents = dryRunning ? [low, high] : [low];
    await bed.rounds(agents, 3);
    await bed.crash(0, 'stopped');
    await bed.rounds(agents, 10, () => low.status().role === 'active');
    expect(low.status().role).toBe('active');
    expect(low.status().counters.deferrals).toBe(0);
    expect(cloudHolders()).toEqual(['2', '2', '2']);
  });

  it('a running higher-priority agent makes the lower one defer; stopped, it leaves the routes on its live controller until that dies too', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const low = createHaAgent(bed.standbyConfig(2, { priority: 100, standbys: [standbyEntry(1, 200)] }), bed.deps());
    const high = createHaAgent(bed.standbyConfig(1, { priority: 200, standbys: [standbyEntry(2, 100)] }), bed.deps());
    track.agents(low, high);
    await bed.rounds([low, high], 3);
    await bed.crash(0, 'stopped');
    await bed.rounds([low, high], 10, () => high.status().role === 'active');
    await bed.rounds([low, high], 3);
    expect(low.status().counters).toMatchObject({ failovers: 0 });
    expect(low.status().counters.deferrals).toBeGreaterThan(0);
    expect(cloudHolders()).toEqual(['1', '1', '1']);
    // An agent that stops (a container restart) does not withdraw: its controller still carries the traffic.
    await high.stop();
    await bed.rounds([low], 4);
    expect(low.status().role).toBe('passive');
    expect(low.status().reason).toMatch(/already advertises/);
    await bed.crash(1, 'stopped');
    await bed.rounds([low], 10, () => low.status().role === 'active');
    expect(low.status().role).toBe('active');
    expect(cloudHolders()).toEqual(['2', '2', '2']);
  });

  it('two standbys where only one lists the other: both see the mismatch (the unaware one through its observer) and refuse, loudly; nothing moves', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const events: Vns3Event[] = [];
    const unawareEvents: Vns3Event[] = [];
    const listing = createHaAgent(bed.standbyConfig(1, { priority: 200, standbys: [standbyEntry(2, 100)] }), bed.deps(events));
    const unaware = createHaAgent(bed.standbyConfig(2, { priority: 100 }), bed.deps(unawareEvents));
    track.agents(listing, unaware);
    await bed.rounds([listing, unaware], 3);
    expect(listing.status().problems.join()).toMatch(/^standbys: standby sb2 is configured with a different standby list or priorities/);
    expect(unaware.status().problems.join()).toMatch(/^standbys: observer observer1 runs a standby agent of the same primary that is not configured like this one/);
    for (const list of [events, unawareEvents]) expect(list.some((e) => e.step === 'ha.config.error' && e.level === 'error')).toBe(true);
    await bed.crash(0, 'stopped');
    await bed.rounds([listing, unaware], 12);
    expect([listing.status().role, unaware.status().role]).toEqual(['passive', 'passive']);
    expect(listing.status().counters.failovers + unaware.status().counters.failovers).toBe(0);
    expect(unaware.status().reason).toMatch(/configuration mismatch: observer observer1/);
    expect(bed.ec2!.writes).toBe(0);
  });

  it('a standby that cannot renew its own lease refuses to fail over (the others could not see it act), and acts once it can', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const events: Vns3Event[] = [];
    // A route the agent did not write squats on both lease addresses: every renewal is refused ("Route already exists").
    for (const cidr of ['192.0.2.254/32', '192.0.2.253/32']) {
      await bed.clients[1]!.post('/routes', { body: { cidr, description: 'not a lease', interface: '_notset', gateway: '_notset', advertise: false, metric: 0 } });
    }
    const standby = createHaAgent(bed.standbyConfig(1, { standbys: [standbyEntry(2, 100)] }), bed.deps(events));
    track.agents(standby);
    await bed.rounds([standby], 3);
    expect(events.filter((e) => e.step === 'ha.lease' && e.level === 'warn')).toHaveLength(1);
    await bed.crash(0, 'stopped');
    await bed.rounds([standby], 8);
    expect(standby.status()).toMatchObject({ role: 'passive', counters: { failovers: 0 } });
    expect(standby.status().reason).toMatch(/cannot renew its lease/);
    expect(bed.ec2!.writes).toBe(0);
    const map = (await bed.clients[1]!.get('/routes')) as Record<string, { id: number; description: string | null }>;
    for (const r of Object.values(map).filter((x) => x.description === 'not a lease')) await bed.clients[1]!.delete('/routes/{route_id}', { params: { path: { route_id: r.id } } });
    await bed.rounds([standby], 10, () => standby.status().role === 'active');
    expect(standby.status().role).toBe('active');
    expect(events.some((e) => e.step === 'ha.lease' && /renewed again/.test(e.detail ?? ''))).toBe(true);
    expect(cloudHolders()).toEqual(['1', '1', '1']);
  });

  it('lease_period renews an unchanged lease less often (and says its period, which readers wait four of), a role change at once', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'overlay' }));
    const writesOn1 = (): number => bed.sim.controllers[1]!.writes;
    const every = createHaAgent(bed.standbyConfig(1), bed.deps());
    track.agents(every);
    await bed.rounds([every], 2);
    let before = writesOn1();
    await bed.rounds([every], 14);
    expect(writesOn1() - before).toBe(28);
    await every.stop();
    // 0.15 s checks, a 1.05 s period: one renewal (two writes) every 7 checks.
    const sparse = createHaAgent(bed.standbyConfig(1, { lease_period: 1.05 }), bed.deps());
    track.agents(sparse);
    await bed.rounds([sparse], 2);
    before = writesOn1();
    await bed.rounds([sparse], 14);
    expect(writesOn1() - before).toBe(4);
    const routes = (await bed.clients[1]!.get('/routes')) as Record<string, { cidr: string; description: string | null }>;
    expect(Object.values(routes).find((r) => r.description?.startsWith('vns3-ha lease v1 '))?.description).toMatch(/ iv=1050 /);
    // The failover's role change is published in the check that made it, not a period later.
    await bed.crash(0);
    await bed.rounds([sparse], 10, () => sparse.status().role === 'active');
    const after = (await bed.clients[1]!.get('/routes')) as Record<string, { description: string | null }>;
    expect(Object.values(after).find((r) => r.description?.startsWith('vns3-ha lease v1 '))?.description).toMatch(/ role=active /);
  });

  it('standbys that disagree on priorities both refuse; equal priorities: exactly the lower address acts', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const a = createHaAgent(bed.standbyConfig(1, { priority: 200, standbys: [standbyEntry(2, 100)] }), bed.deps());
    const b = createHaAgent(bed.standbyConfig(2, { priority: 200, standbys: [standbyEntry(1, 100)] }), bed.deps());
    track.agents(a, b);
    await bed.rounds([a, b], 3);
    await bed.crash(0, 'stopped');
    await bed.rounds([a, b], 8);
    expect([a.status().role, b.status().role]).toEqual(['passive', 'passive']);
    expect(a.status().problems).toHaveLength(1);
    expect(b.status().problems).toHaveLength(1);
    expect(bed.ec2!.writes).toBe(0);
    await Promise.all([a.stop(), b.stop()]);

    await bed.restore(0);
    const c = createHaAgent(bed.standbyConfig(1, { priority: 100, standbys: [standbyEntry(2, 100)] }), bed.deps());
    const d = createHaAgent(bed.standbyConfig(2, { priority: 100, standbys: [standbyEntry(1, 100)] }), bed.deps());
    track.agents(c, d);
    await bed.rounds([c, d], 3);
    await bed.crash(0, 'stopped');
    await bed.rounds([c, d], 12);
    expect(bed.ip(1) < bed.ip(2)).toBe(true);
    expect([c.status().role, d.status().role]).toEqual(['active', 'passive']);
    expect(d.status().counters.failovers).toBe(0);
    expect(cloudHolders()).toEqual(['1', '1', '1']);
  });
});

describe('the primary\'s VNS3 routes are learned from wherever they can be', () => {
  it('a standby restarted while the primary is down moves the VNS3 routes it saved (state_path); without them the failover is an error', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'overlay' }));
    const statePath = join(await tempDir(), 'state.json');
    const first = createHaAgent(bed.standbyConfig(1, { state_path: statePath }), bed.deps());
    track.agents(first);
    await bed.rounds([first], 3);
    await first.stop();
    await bed.crash(0);

    const events: Vns3Event[] = [];
    const blind = createHaAgent(bed.standbyConfig(1, { dry_run: true }), bed.deps(events));
    track.agents(blind);
    await bed.rounds([blind], 10, () => blind.status().counters.failovers > 0);
    expect(blind.status().lastFailover!.errors.join()).toMatch(/VNS3 routes are unknown/);
    expect(events.find((e) => e.step === 'ha.failover.done')?.level).toBe('error');
    await blind.stop();

    const second = createHaAgent(bed.standbyConfig(1, { state_path: statePath }), bed.deps());
    track.agents(second);
    await bed.rounds([second], 10, () => second.status().role === 'active');
    expect(second.status().lastFailover).toMatchObject({ errors: [] });
    expect(await assumedOn(1)).toEqual([bed.primaryLan]);
  });

  it('a wrong peer_api_password is a configuration error at the first check, and the routes are learned from the mesh instead', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'overlay' }));
    const events: Vns3Event[] = [];
    const standby = createHaAgent(bed.standbyConfig(1, { peer_api_password: 'wrong-password-1' }), bed.deps(events));
    track.agents(standby);
    const first = (await standby.checkOnce()) as { error?: string; verdict: string };
    expect(first.verdict).toBe('up');
    expect(first.error).toMatch(/^peer_api_password: the primary rejects this password \(HTTP 401\)/);
    expect(events.find((e) => e.step === 'ha.config.error')?.level).toBe('error');
    expect(standby.status().snapshot.vns3.map((r) => r.cidr)).toEqual([bed.primaryLan]);
    expect(JSON.stringify(events)).not.toContain('wrong-password-1');
    await bed.rounds([standby], 2);
    await bed.crash(0);
    await bed.rounds([standby], 10, () => standby.status().role === 'active');
    expect(await assumedOn(1)).toEqual([bed.primaryLan]);
  });

  it('a wrong my_api_password is reported at the first check', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'overlay' }));
    const standby = createHaAgent(bed.standbyConfig(1, { my_api_password: 'wrong-password-2' }), bed.deps());
    track.agents(standby);
    const first = (await standby.checkOnce()) as { error?: string };
    expect(first.error).toMatch(/my_api_password: this controller rejects this password \(HTTP 401\)/);
    expect(standby.status().problems).toEqual([expect.stringMatching(/^my_api_password:/)]);
  });
});

describe('split brain is impossible in every accepted configuration', () => {
  it.each(['overlay', 'aws'] as const)('%s: a standby cut off from a live primary on all three paths moves nothing (an observer still sees it)', async (cloud) => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud }));
    const standby = createHaAgent(bed.standbyConfig(1, { cloud_veto: false }), bed.deps());
    track.agents(standby);
    await bed.rounds([standby], 3);
    bed.underlay.cut();
    bed.publicPath.cut();
    bed.sim.partition(0, 1);
    await bed.rounds([standby], 10);
    const s = standby.status();
    expect(s.lastCheck?.witnesses.filter((w) => ['underlay', 'public', 'mesh'].includes(w.name)).every((w) => w.result === 'down')).toBe(true);
    expect(s.lastCheck?.verdict).toBe('vetoed');
    expect(s).toMatchObject({ role: 'passive', counters: { failovers: 0 } });
    expect(await assumedOn(1)).toEqual([]);
    if (bed.ec2) expect(bed.ec2.writes).toBe(0);
  });

  it.each([
    ['overlay', {}],
    ['aws', { cloud_veto: false }],
  ] as const)('%s %j without any observer or standby is refused at load, naming observers', async (cloud, extra) => {
    bed = track.bed(await startHaBed({ controllers: 2, cloud }));
    expect(() => createHaAgent(bed.standbyConfig(1, extra), bed.deps())).toThrow(/observers \(HAENV_OBSERVERS\): needs at least one entry with (cloud: overlay|cloud_veto: false)/);
  });
});

describe('more safety scenarios', () => {
  function bothAssert(standby: HaAgent, primary: HaAgent): boolean {
    return standby.status().role === 'active' && primary.status().role === 'active';
  }

  it('crash and restore every few checks: never two agents asserting at once, and the routes end on the live primary', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const standby = createHaAgent(bed.standbyConfig(1), bed.deps());
    const primary = createHaAgent(bed.primaryConfig(1), bed.deps());
    track.agents(standby, primary);
    await bed.rounds([standby, primary], 3);
    let overlaps = 0;
    for (let cycle = 0; cycle < 4; cycle++) {
      await bed.crash(0, 'stopped');
      for (let r = 0; r < 6; r++) {
        await bed.rounds([standby, primary], 1);
        if (bothAssert(standby, primary)) overlaps++;
      }
      await bed.restore(0);
      for (let r = 0; r < 3; r++) {
        await bed.rounds([standby, primary], 1);
        if (bothAssert(standby, primary)) overlaps++;
      }
    }
    expect(overlaps).toBe(0);
    await bed.rounds([standby, primary], 30, () => primary.status().role === 'active' && standby.status().role === 'passive');
    expect(cloudHolders()).toEqual(['0', '0', '0']);
    expect(standby.status().counters.failovers).toBeGreaterThan(0);
  });

  it('a slow (not dead) primary, an asymmetric cut, or the standby\'s own controller down: nothing moves', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'overlay' }));
    const standby = createHaAgent(bed.standbyConfig(1), bed.deps());
    track.agents(standby);
    await bed.rounds([standby], 3);
    bed.sim.setFaults(0, { latencyMs: 300 });
    await bed.rounds([standby], 5);
    bed.sim.setFaults(0, { latencyMs: 0 });
    bed.sim.partition(0, 1);
    await bed.rounds([standby], 5);
    bed.sim.heal(0, 1);
    await bed.sim.crash(1);
    await bed.rounds([standby], 5);
    await bed.sim.restore(1);
    expect(standby.status().counters.failovers).toBe(0);
    expect(standby.status().role).toBe('passive');
    expect(await assumedOn(1)).toEqual([]);
  });

  it('cloud errors during the failback: the primary retries until the routes are back, and the two never assert at once', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const standby = createHaAgent(bed.standbyConfig(1), bed.deps());
    const primary = createHaAgent(bed.primaryConfig(1), bed.deps());
    track.agents(standby, primary);
    await bed.rounds([standby, primary], 3);
    await bed.crash(0, 'stopped');
    await bed.rounds([standby, primary], 10, () => standby.status().lastFailover?.complete === true);
    expect(cloudHolders()).toEqual(['1', '1', '1']);
    await bed.restore(0);
    setCloudFaults({ failRate: 1, operations: [...WRITES.aws] });
    let overlaps = 0;
    for (let r = 0; r < 15; r++) {
      await bed.rounds([standby, primary], 1);
      if (standby.status().role === 'active' && primary.status().role === 'active') overlaps++;
    }
    expect(standby.status().role).toBe('passive');
    expect(cloudHolders()).toEqual(['1', '1', '1']);
    setCloudFaults({});
    await bed.rounds([standby, primary], 20, () => primary.status().role === 'active' && cloudHolders().every((h) => h === '0'));
    expect(cloudHolders()).toEqual(['0', '0', '0']);
    expect(overlaps).toBe(0);
    expect(standby.status().role).toBe('passive');
  });

  it('agent restarted mid-failover (cloud writes failing) finishes the failover with what it saved', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const statePath = join(await tempDir(), 'state.json');
    const first = createHaAgent(bed.standbyConfig(1, { state_path: statePath }), bed.deps());
    track.agents(first);
    await bed.rounds([first], 3);
    await bed.crash(0, 'stopped');
    setCloudFaults({ failRate: 1, operations: [...WRITES.aws] });
    await bed.rounds([first], 10, () => first.status().role === 'active');
    await first.stop();
    setCloudFaults({});
    const second = createHaAgent(bed.standbyConfig(1, { state_path: statePath }), bed.deps());
    track.agents(second);
    await bed.rounds([second], 10, () => second.status().lastFailover?.complete === true);
    expect(cloudHolders()).toEqual(['1', '1', '1']);
    expect(await assumedOn(1)).toEqual([bed.primaryLan]);
  });
});

describe('durations and cloud errors', () => {
  it('check_interval beyond a Node timer (2^31-1 ms) is refused by name; so are sleep_time and preempt_delay', () => {
    const base = { mode: 'primary', cloud: 'aws', peer_public_ip: '198.51.100.7' };
    let error: unknown;
    try {
      parseHaConfig({ ...base, check_interval: 3000000, sleep_time: 1e7, preempt_delay: '2147484' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Vns3HaConfigError);
    const problems = (error as Vns3HaConfigError).problems.map((p) => `${p.key}: ${p.reason}`);
    expect(problems).toEqual([
      'sleep_time: must be a number of seconds, from 0.001 to 2147483',
      'check_interval: must be a number of seconds, from 0.001 to 2147483',
      'preempt_delay: must be a number of seconds, from 0 to 2147483',
    ]);
    expect(parseHaConfig({ ...base, check_interval: 2147483 }).checkIntervalMs).toBe(2_147_483_000);
  });

  it('a failing cloud API is a warning with the cloud\'s own message, not "not known to the cloud yet"', async () => {
    bed = track.bed(await startHaBed({ controllers: 2, cloud: 'aws' }));
    bed.ec2!.faults = { failRate: 1, operations: ['DescribeInstances'] };
    const events: Vns3Event[] = [];
    const primary = createHaAgent(bed.primaryConfig(1), bed.deps(events));
    track.agents(primary);
    const check = (await primary.checkOnce()) as { error?: string };
    const warning = events.find((e) => e.step === 'ha.cloud.error');
    expect(warning?.level).toBe('warn');
    expect(warning?.detail).toMatch(/Unavailable: The service is unavailable/);
    expect(check.error).toMatch(/Unavailable: The service is unavailable/);
    expect(JSON.stringify(events)).not.toMatch(/not known to the cloud|test-secret|AKIDTEST/);
  });
});
