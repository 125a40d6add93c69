import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Vns3ValidationError, type Vns3Client } from '../../src/client/index.js';
import { ensureFirewallPolicy, planFirewallV2, StateCache, type FirewallRuleSpec } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

const NAT = 'POSTROUTING -o eth0 -s 100.64.0.0/19 ! -d 100.64.0.0/19 -j MASQUERADE';
const OUT = 'FORWARD -o eth0 -j ACCEPT';
const IN = 'FORWARD -i eth0 -m state --state ESTABLISHED,RELATED -j ACCEPT';
const DROP = 'FORWARD -s 100.64.0.0/19 -d 100.64.0.0/19 -j DROP';
const SSH = 'INPUT -p tcp --dport 22 -j DROP';
const POLICY: FirewallRuleSpec[] = [
  { rule: NAT, comment: 'Source NAT for traffic to the internet', groups: ['VPN2Internet'] },
  { rule: OUT, groups: ['VPN2Internet'] },
  IN,
  { rule: DROP, comment: 'no VPN to VPN', groups: ['BlockVPN2VPN'] },
  SSH,
];

type Rule = { id: string; rule: string; comment?: string; groups?: string[]; disabled?: boolean };

describe('ensureFirewallPolicy on the v2 firewall (VNS3 6.x)', () => {
  let mesh: TestMesh;
  let client: Vns3Client;
  const rules = async (c = client): Promise<Rule[]> => (await c.get('/v2/firewall/rules')) as Rule[];
  const writes = (index = 0): { method: string; path: string }[] =>
    mesh.sim.controllers[index]!.requestLog.filter((r) => r.method !== 'GET').map(({ method, path }) => ({ method, path }));
  const reset = async (start: FirewallRuleSpec[]): Promise<void> => {
    for (const c of mesh.clients) {
      const list = start.map((s) => (typeof s === 'string' ? { rule: s } : { ...s, groups: s.groups ? [...s.groups] : undefined }));
      await c.put('/v2/firewall/rules', { body: { rules: list } });
    }
    mesh.sim.resetCounters();
  };

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
    client = mesh.clients[0]!;
  });
  afterAll(async () => mesh?.stop());
  beforeEach(() => reset([]));

  it('picks v2 by the version GET /config reports, builds the policy, and a second run writes nothing', async () => {
    const plan = await ensureFirewallPolicy(client, POLICY);
    expect(plan.api).toBe('v2');
    expect(plan.inserts.map((i) => i.position)).toEqual([0, 1, 2, 3, 4]);
    expect(mesh.sim.totalWrites()).toBe(5);
    expect(writes().every((w) => w.path === '/api/v2/firewall/rules')).toBe(true);
    const list = await rules();
    expect(list.map((r) => [r.rule, r.comment, r.groups, r.disabled])).toEqual([
      [NAT, 'Source NAT for traffic to the internet', ['VPN2Internet'], false],
      [OUT, '', ['VPN2Internet'], false],
      [IN, '', [], false],
      [DROP, 'no VPN to VPN', ['BlockVPN2VPN'], false],
      [SSH, '', [], false],
    ]);

    mesh.sim.resetCounters();
    const again = await ensureFirewallPolicy(client, POLICY);
    expect([again.deletes.length, again.updates.length, again.inserts.length, again.unchanged]).toEqual([0, 0, 0, 5]);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('changes one rule with one write, keeping its id and every other rule', async () => {
    await reset(POLICY);
    const before = await rules();
    const changed = POLICY.map((r, i) => (i === 2 ? 'FORWARD -i eth0 -j ACCEPT' : r));
    const plan = await ensureFirewallPolicy(client, changed);
    expect(plan.updates).toEqual([{ id: before[2]!.id, position: 2, rule: 'FORWARD -i eth0 -j ACCEPT', changes: { rule: 'FORWARD -i eth0 -j ACCEPT' } }]);
    expect(writes()).toEqual([{ method: 'PUT', path: `/api/v2/firewall/rules/${before[2]!.id}` }]);
    expect((await rules()).map((r) => r.id)).toEqual(before.map((r) => r.id));

    // A comment, the groups or the state of one rule: one write each, by id.
    mesh.sim.resetCounters();
    await client.put('/v2/firewall/rules/{id}', { params: { path: { id: before[4]!.id } }, body: { disabled: true } });
    mesh.sim.resetCounters();
    const relabelled = changed.map((r, i) => (i === 0 ? { rule: NAT, comment: 'SNAT', groups: ['VPN2Internet', 'Egress'] } : r));
    const second = await ensureFirewallPolicy(client, relabelled);
    expect(second.updates.map((u) => u.changes)).toEqual([{ comment: 'SNAT', groups: ['VPN2Internet', 'Egress'] }, { disabled: false }]);
    expect(mesh.sim.totalWrites()).toBe(2);
    mesh.sim.resetCounters();
    await ensureFirewallPolicy(client, relabelled);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  // [name, start, writes on v2 (v1 would need the LCS deletes + inserts)]
  const starts: [string, string[], number][] = [
    ['reversed', [SSH, DROP, IN, OUT, NAT], 4],
    ['one extra rule in the middle', [NAT, OUT, 'INPUT -j DROP', IN, DROP, SSH], 1],
    ['one rule missing', [NAT, OUT, DROP, SSH], 1],
    ['nothing in common', ['INPUT -s 203.0.113.0/24 -j DROP', 'OUTPUT -j ACCEPT'], 5],
  ];
  for (const [name, start, expected] of starts) {
    it(`reaches the policy from ${name} with ${expected} writes, in order`, async () => {
      await reset(start);
      const texts = [NAT, OUT, IN, DROP, SSH];
      const plan = await ensureFirewallPolicy(client, texts);
      expect(plan.deletes.length + plan.updates.length + plan.inserts.length).toBe(expected);
      expect(mesh.sim.totalWrites()).toBe(expected);
      expect((await rules()).map((r) => r.rule)).toEqual(texts);
      // What v1 shows of it: the same rules on the custom chains.
      expect((await client.get('/firewall/rules')).map((e) => String(e[0]).split(' ')[0])).toEqual(['POSTROUTING_CUST', 'FORWARD_CUST', 'FORWARD_CUST', 'FORWARD_CUST', 'INPUT_CUST']);
    });
  }

  it('dry run returns the plan and writes nothing', async () => {
    await reset([NAT, 'INPUT -j DROP', IN]);
    const plan = await ensureFirewallPolicy(client, [NAT, OUT, IN], { dryRun: true });
    expect(plan).toMatchObject({ api: 'v2', dryRun: true, deletes: [], inserts: [], unchanged: 2 });
    expect(plan.updates.map((u) => [u.position, u.changes])).toEqual([[1, { rule: OUT }]]);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect((await rules()).map((r) => r.rule)).toEqual([NAT, 'INPUT -j DROP', IN]);
  });

  it('validates the whole policy before any write', async () => {
    await reset([NAT]);
    const bad: [FirewallRuleSpec[], RegExp][] = [
      [[NAT, 'NOT_A_CHAIN -j DROP'], /rules\[1\].*chain of the v2 API/],
      [[NAT, { rule: OUT, groups: ['has space'] }], /rules\[1\]\.groups/],
      [[NAT, { rule: OUT, disabled: 'yes' as unknown as boolean }], /rules\[1\]\.disabled/],
      [[NAT, { rule: `${OUT}\nINPUT -j ACCEPT` }], /single line/],
      [[NAT, 'INPUT -s {nope} -j DROP'], /unknown variable \{nope\}/],
    ];
    for (const [policy, message] of bad) {
      const err = await ensureFirewallPolicy(client, policy).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Vns3ValidationError);
      expect((err as Error).message).toMatch(message);
      await expect(ensureFirewallPolicy(mesh.clients, policy)).rejects.toThrow(Vns3ValidationError);
    }
    // v2 fields on a controller driven through v1.
    await expect(ensureFirewallPolicy(client, [{ rule: 'INPUT_CUST -j DROP', comment: 'x' }], { api: 'v1' })).rejects.toThrow(/rules\[0\]\.comment.*v2 firewall/);
    await expect(ensureFirewallPolicy(client, [NAT], { api: 'v3' as 'v1' })).rejects.toThrow(/api/);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect((await rules()).map((r) => r.rule)).toEqual([NAT]);
  });

  it('picks v1 on a controller reporting an older version, and reads the version once per cache', async () => {
    const older = mesh.sim.controllers[1]!.connect();
    try {
      // The simulator is a 6.x controller; make this client see 5.2 in GET /config.
      older.use({
        async onResponse({ request, response }) {
          if (!new URL(request.url).pathname.endsWith('/config')) return undefined;
          const body = (await response.json()) as { response: Record<string, unknown> };
          return new Response(JSON.stringify({ response: { ...body.response, vns3_version: '5.2.7-20230101' } }), { headers: { 'content-type': 'application/json' } });
        },
      });
      const cache = new StateCache();
      const plan = await ensureFirewallPolicy(older, ['INPUT_CUST -p tcp --dport 22 -j DROP'], { cache });
      expect(plan.api).toBe('v1');
      expect(writes(1)).toEqual([{ method: 'POST', path: '/api/firewall/rules' }]);
      await ensureFirewallPolicy(older, ['INPUT_CUST -p tcp --dport 22 -j DROP'], { cache });
      expect(mesh.sim.controllers[1]!.requestLog.filter((r) => r.path === '/api/config')).toHaveLength(1);
      await expect(ensureFirewallPolicy(older, [SSH], { cache })).rejects.toThrow(/rules\[0\].*VNS3 chain/);
    } finally {
      await older.close();
    }
  });

  it('re-reads instead of re-sending when a write is applied but its reply is lost', async () => {
    await reset([IN]);
    let armed = false;
    await ensureFirewallPolicy(client, [NAT, OUT, IN], {
      onEvent: (e) => {
        if (e.step === 'firewall.plan' && !armed) {
          armed = true;
          mesh.sim.setFaults(0, { dropReplyNext: 1 });
        }
      },
    });
    expect(armed).toBe(true);
    expect((await rules()).map((r) => r.rule)).toEqual([NAT, OUT, IN]);
    expect(mesh.sim.controllers[0]!.requestLog.filter((r) => r.method === 'POST')).toHaveLength(2);
  });

  it('rolls back when the controller refuses a rule mid-plan, restoring comments and groups', async () => {
    await reset([{ rule: NAT, comment: 'keep me', groups: ['G'] }, IN]);
    // The SDK lets this through (a v2 chain, one line); the controller refuses it (no -j target).
    const err = await ensureFirewallPolicy(client, [OUT, 'INPUT -s 192.0.2.1']).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/refused a write.*2 previous rules were restored/);
    expect((await rules()).map((r) => [r.rule, r.comment, r.groups])).toEqual([
      [NAT, 'keep me', ['G']],
      [IN, '', []],
    ]);
  });

  it('on many controllers: each its own minimal plan, then nothing', async () => {
    await reset([]);
    await mesh.clients[1]!.post('/v2/firewall/rules', { body: { rules: [NAT, SSH] } });
    mesh.sim.resetCounters();
    const result = await ensureFirewallPolicy(mesh.clients, POLICY);
    expect(result.failed).toEqual([]);
    expect(result.succeeded.map((s) => s.value.inserts.length + s.value.updates.length)).toEqual([5, 4]);
    expect(mesh.sim.totalWrites()).toBe(9);
    mesh.sim.resetCounters();
    await ensureFirewallPolicy(mesh.clients, POLICY);
    expect(mesh.sim.totalWrites()).toBe(0);
  });
});

describe('planFirewallV2', () => {
  const r = (id: string, rule: string, extra: Partial<{ comment: string; groups: string[]; disabled: boolean }> = {}) => ({ id, rule, comment: '', groups: [], disabled: false, ...extra });
  it('aligns by edit distance: keeps matches, updates in place, deletes and inserts the rest', () => {
    const plan = planFirewallV2([r('1', 'a'), r('2', 'b'), r('3', 'c'), r('4', 'x', { disabled: true })], [{ rule: 'a' }, { rule: 'c' }, { rule: 'x' }, { rule: 'y' }]);
    expect(plan.unchanged).toBe(2);
    expect(plan.deletes).toEqual([{ position: 1, rule: 'b', id: '2' }]);
    expect(plan.updates).toEqual([{ id: '4', position: 2, rule: 'x', changes: { disabled: false } }]);
    expect(plan.inserts).toEqual([{ position: 3, rule: 'y', comment: undefined, groups: undefined, disabled: undefined }]);
  });
});
