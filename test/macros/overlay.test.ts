import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3Error, Vns3ValidationError } from '../../src/client/errors.js';
import type { Vns3Event } from '../../src/events.js';
import { groupSizes, segmentOverlayClients } from '../../src/macros/index.js';
import { licenseMesh, startTestMesh, type TestMesh } from '../../src/testing/index.js';

const addr = (name: string): number => name.split('_').reduce((a, o) => a * 256 + Number(o), 0);

describe('segmentOverlayClients', () => {
  let mesh: TestMesh;
  const tags = async (i = 0): Promise<Record<string, Record<string, string>>> =>
    Object.fromEntries(Object.entries(await mesh.clients[i]!.get('/clientpacks')).map(([n, p]) => [n, p.tags ?? {}]));

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
    await licenseMesh(mesh);
  });
  afterAll(async () => mesh?.stop());

  it('sizes groups exactly: equal shares, earlier groups take the extra, weights by largest remainder', () => {
    expect(groupSizes(60, [1, 1, 1, 1, 1, 1, 1])).toEqual([9, 9, 9, 9, 8, 8, 8]);
    expect(groupSizes(60, [0.5, 0.3, 0.2])).toEqual([30, 18, 12]);
    // 10 × 1/3 each: 3.33… three times, one left over goes to the first group.
    expect(groupSizes(10, [1, 1, 1])).toEqual([4, 3, 3]);
    // Python's round() would make 2 + 2 + 2 = 6 of 5 here; ours always adds up.
    expect(groupSizes(5, [0.3, 0.3, 0.4])).toEqual([2, 1, 2]);
    expect(groupSizes(2, [1, 1, 1])).toEqual([1, 1, 0]);
  });

  it('tags every clientpack with its group by names, in address order, and a second run writes nothing', async () => {
    const client = mesh.clients[0]!;
    mesh.sim.resetCounters();
    const events: Vns3Event[] = [];
    const first = await segmentOverlayClients(client, { groups: ['web', 'app', 'db'], onEvent: (e) => events.push(e) });
    expect(Object.keys(first.groups)).toEqual(['web', 'app', 'db']);
    expect(first.groups.web).toHaveLength(20);
    expect(first.groups.web?.[0]).toBe('100_127_255_193');
    expect(first.groups.db?.at(-1)).toBe('100_127_255_252');
    // Contiguous blocks in address order.
    const all = [...first.groups.web!, ...first.groups.app!, ...first.groups.db!];
    expect(all.map(addr)).toEqual([...all.map(addr)].sort((a, b) => a - b));
    expect(first.written).toHaveLength(60);
    expect(mesh.sim.controllers[0]!.writes).toBe(60);
    const now = await tags();
    for (const [group, members] of Object.entries(first.groups)) for (const m of members) expect(now[m]?.group).toBe(group);
    expect(events.some((e) => e.step === 'overlay.segment' && /60 to tag/.test(e.detail ?? ''))).toBe(true);

    mesh.sim.resetCounters();
    const second = await segmentOverlayClients(client, { groups: ['web', 'app', 'db'] });
    expect(second.groups).toEqual(first.groups);
    expect(second.written).toEqual([]);
    expect(second.unchanged).toBe(60);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('moves only the clientpacks whose group changed when the split changes', async () => {
    const client = mesh.clients[0]!;
    mesh.sim.resetCounters();
    const plan = await segmentOverlayClients(client, { ratios: { web: 0.5, app: 0.3, db: 0.2 }, dryRun: true });
    expect(plan.dryRun).toBe(true);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect([plan.groups.web, plan.groups.app, plan.groups.db].map((g) => g?.length)).toEqual([30, 18, 12]);
    // 20/20/20 → 30/18/12: clientpacks 21–30 move from app to web, 41–48 from db to app; the rest stay.
    expect(plan.written).toHaveLength(18);

    const applied = await segmentOverlayClients(client, { ratios: { web: 0.5, app: 0.3, db: 0.2 } });
    expect(applied.written).toEqual(plan.written);
    expect(mesh.sim.controllers[0]!.writes).toBe(18);
    expect((await segmentOverlayClients(client, { ratios: { web: 5, app: 3, db: 2 } })).written).toEqual([]);
  });

  it('by count names groups group_1 … and uses its own tag key next to other tags', async () => {
    const first = await segmentOverlayClients(mesh.clients[0]!, { count: 4, tagKey: 'shard' });
    expect(Object.keys(first.groups)).toEqual(['group_1', 'group_2', 'group_3', 'group_4']);
    expect(Object.values(first.groups).map((g) => g.length)).toEqual([15, 15, 15, 15]);
    const now = await tags();
    expect(now['100_127_255_193']).toEqual({ group: 'web', shard: 'group_1' });
  });

  it('gives the same groups on every controller, run after run', async () => {
    const result = await segmentOverlayClients(mesh.clients, { groups: ['blue', 'green'], tagKey: 'colour' });
    expect(result.failed).toEqual([]);
    const [a, b] = result.succeeded.map((s) => s.value.groups);
    expect(a).toEqual(b);
    mesh.sim.resetCounters();
    const again = await segmentOverlayClients(mesh.clients, { groups: ['blue', 'green'], tagKey: 'colour' });
    expect(again.succeeded.map((s) => s.value.groups)).toEqual([a, b]);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('re-reads and finishes when tag writes are lost on the way back', async () => {
    const client = mesh.clients[0]!;
    mesh.sim.setFaults(0, { dropReplyNext: 3 });
    const result = await segmentOverlayClients(client, { count: 3, tagKey: 'lossy', retryBudget: { minDelayMs: 10, maxDelayMs: 50 } });
    mesh.sim.clearFaults(0);
    const now = await tags();
    for (const [group, members] of Object.entries(result.groups)) for (const m of members) expect(now[m]?.lossy).toBe(group);
    expect(result.written).toHaveLength(60);
    mesh.sim.resetCounters();
    expect((await segmentOverlayClients(client, { count: 3, tagKey: 'lossy' })).written).toEqual([]);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('refuses bad input before any request', async () => {
    const client = mesh.clients[0]!;
    mesh.sim.resetCounters();
    const bad: [string, Parameters<typeof segmentOverlayClients>[1]][] = [
      ['groups', {}],
      ['groups', { groups: ['a'], count: 2 }],
      ['groups', { groups: [] }],
      ['groups[1]', { groups: ['a', ''] }],
      ['groups[1]', { groups: ['a', 'a'] }],
      ['count', { count: 0 }],
      ['count', { count: 2.5 }],
      ['ratios.b', { ratios: { a: 1, b: -1 } }],
      ['ratios', { ratios: {} }],
      ['tagKey', { count: 2, tagKey: 'bad key' }],
      ['dryRun', { count: 2, dryRun: 'yes' as unknown as boolean }],
    ];
    for (const [field, options] of bad) {
      const err = await segmentOverlayClients(client, options).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(Vns3ValidationError);
      expect((err as Vns3ValidationError).field).toBe(field);
    }
    await expect(segmentOverlayClients([], { count: 2 })).rejects.toBeInstanceOf(Vns3ValidationError);
    expect(mesh.sim.controllers[0]!.requestLog).toHaveLength(0);
  });

  it('says so when the controller has no clientpacks yet', async () => {
    const fresh = await startTestMesh({ controllers: 1 });
    try {
      const c = fresh.clients[0]!;
      await c.put('/license', { body: fresh.sim.license() });
      await c.put('/license/parameters', { body: { default: true } });
      const err = await segmentOverlayClients(c, { count: 2, retryBudget: { attempts: 30, minDelayMs: 20, maxDelayMs: 100 } }).catch((e: unknown) => e);
      // Licensed without a keyset: no clientpacks, reported as such (not as an empty success).
      expect(err).toBeInstanceOf(Vns3Error);
      expect((err as Error).message).toMatch(/no clientpacks/);
    } finally {
      await fresh.stop();
    }
  });
});
