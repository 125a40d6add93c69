import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../src/client/errors.js';
import type { Vns3Event } from '../../src/events.js';
import { ensureFirewallPolicy, planFirewall, substitute } from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

const A = 'MACRO_CUST -o eth0 -s 198.51.100.2/32 -j MASQUERADE';
const B = 'INPUT_CUST -i plugin0 -s 198.51.100.0/28 -j ACCEPT';
const C = 'OUTPUT_CUST -o plugin0 -d 198.51.100.0/28 -j ACCEPT';
const D = 'INPUT_CUST -p udp --dport 1195:1203 -j ACCEPT';
const E = 'FORWARD_CUST -j DROP';
const X = 'INPUT_CUST -s 203.0.113.0/24 -j DROP';
const Y = 'PREROUTING_CUST -i eth0 -p tcp --dport 8080 -j DNAT --to 198.51.100.3:80';
const DESIRED = [A, B, C, D, E];
// These pin the v1 API: the simulator reports VNS3 6.x, where `auto` would choose v2 (firewall-v2.test.ts).
const V1 = { api: 'v1' } as const;

describe('ensureFirewallPolicy', () => {
  let mesh: TestMesh;
  const read = async (): Promise<string[]> => (await mesh.clients[0]!.get('/firewall/rules')).map((e) => String(e[0]));
  const setRules = async (rules: string[]): Promise<void> => {
    const client = mesh.clients[0]!;
    for (let n = (await read()).length; n > 0; n--) await client.delete('/firewall/rules/{position}', { params: { path: { position: 0 } } });
    for (const rule of rules) await client.post('/firewall/rules', { body: { rule, position: -1 } });
    mesh.sim.resetCounters();
  };

  beforeAll(async () => {
    // Firewall rules need no license, so one fresh controller is enough.
    mesh = await startTestMesh({ controllers: 1 });
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  // [name, starting rules, minimal number of writes]
  const starts: [string, string[], number][] = [
    ['empty', [], 5],
    ['already right', DESIRED, 0],
    ['reversed', [...DESIRED].reverse(), 8],
    ['one rule moved to the end', [A, C, D, E, B], 2],
    ['extra rules interleaved', [X, A, B, Y, C, D, E, X], 3],
    ['duplicates of desired rules', [A, A, B, C, C, D, E, E], 3],
    ['shuffled with extras and duplicates', [E, X, C, A, B, A, Y, D], 7],
    ['nothing in common', [X, Y], 7],
  ];
  for (const [name, start, writes] of starts) {
    it(`reaches the policy from ${name} with ${writes} writes, and a second run writes nothing`, async () => {
      await setRules(start);
      const plan = await ensureFirewallPolicy(mesh.clients[0]!, DESIRED, V1);
      expect(await read()).toEqual(DESIRED);
      expect(plan.deletes.length + plan.inserts.length).toBe(writes);
      expect(mesh.sim.totalWrites()).toBe(writes);
      expect(plan.current).toEqual(start);
      // Deletions run from the highest position down.
      expect(plan.deletes.map((d) => d.position)).toEqual([...plan.deletes.map((d) => d.position)].sort((x, y) => y - x));

      mesh.sim.resetCounters();
      const again = await ensureFirewallPolicy(mesh.clients[0]!, DESIRED, V1);
      expect(again.deletes).toEqual([]);
      expect(again.inserts).toEqual([]);
      expect(mesh.sim.totalWrites()).toBe(0);
    });
  }

  it('keeps duplicates that the policy itself asks for', async () => {
    await setRules([B, A, X]);
    const desired = [A, B, A, E];
    await ensureFirewallPolicy(mesh.clients[0]!, desired, V1);
    expect(await read()).toEqual(desired);
  });

  it('compares rules after whitespace normalisation', async () => {
    await setRules(DESIRED);
    const spaced = DESIRED.map((r) => `  ${r.replace(/ /g, '   ')}\t`);
    const plan = await ensureFirewallPolicy(mesh.clients[0]!, spaced, V1);
    expect(plan.unchanged).toBe(5);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('dryRun returns the plan and writes nothing', async () => {
    await setRules([X, A, B]);
    const plan = await ensureFirewallPolicy(mesh.clients[0]!, DESIRED, { ...V1, dryRun: true });
    expect(plan.dryRun).toBe(true);
    expect(plan.deletes).toEqual([{ position: 0, rule: X }]);
    expect(plan.inserts).toEqual([
      { position: 2, rule: C },
      { position: 3, rule: D },
      { position: 4, rule: E },
    ]);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect(await read()).toEqual([X, A, B]);
  });

  it('substitutes controller state and caller variables', async () => {
    await setRules([]);
    const ip = mesh.sim.controllers[0]!.identity.privateIp;
    const rules = ['MACRO_CUST -o eth0 -s {plugin_ip}/32 -j MASQUERADE', 'INPUT_CUST -d {private_ip} -p tcp --dport 8000 -j ACCEPT'];
    await ensureFirewallPolicy(mesh.clients[0]!, rules, { ...V1, variables: { plugin_ip: '198.51.100.2' } });
    expect(await read()).toEqual([A, `INPUT_CUST -d ${ip} -p tcp --dport 8000 -j ACCEPT`]);
  });

  it('validates every rule before any write', async () => {
    await setRules([X]);
    const unknown = await ensureFirewallPolicy(mesh.clients[0]!, [A, 'MACRO_CUST -s {plugin_ipp}/32 -j MASQUERADE'], V1).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Vns3ValidationError);
    expect(unknown).toMatchObject({ field: 'rules[1]', controller: mesh.clients[0]!.host });
    expect((unknown as Error).message).toMatch(/unknown variable \{plugin_ipp\}/);
    await expect(ensureFirewallPolicy(mesh.clients[0]!, [A, '   '], V1)).rejects.toMatchObject({ field: 'rules[1]' });
    await expect(ensureFirewallPolicy(mesh.clients[0]!, [A, 'INPUT_CUST -s {oops -j DROP'], V1)).rejects.toThrow(/unclosed/);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect(await read()).toEqual([X]);
  });

  it('re-reads and re-plans when a write is lost on the way, instead of re-sending it', async () => {
    await setRules([E, D, C, B, A]);
    let faulted = false;
    const events: Vns3Event[] = [];
    const onEvent = (e: Vns3Event): void => {
      events.push(e);
      // Drop the first write's connection: its outcome is unknown to the client.
      if (e.step === 'firewall.plan' && !faulted) {
        faulted = true;
        mesh.sim.setFaults(0, { dropNext: 1 });
      }
    };
    await ensureFirewallPolicy(mesh.clients[0]!, DESIRED, { ...V1, onEvent });
    expect(faulted).toBe(true);
    expect(events.some((e) => e.step === 'firewall.apply' && e.level === 'warn')).toBe(true);
    expect(await read()).toEqual(DESIRED);
  });

  it('refuses a whole policy with one bad rule before any write: unknown chain, line break', async () => {
    await setRules([X]);
    mesh.sim.resetCounters();
    await expect(ensureFirewallPolicy(mesh.clients[0]!, [A, 'NOT_A_CHAIN -j DROP'], V1)).rejects.toThrow(/Invalid rules\[1\].*VNS3 chain/);
    await expect(ensureFirewallPolicy(mesh.clients, [A, `${B}\nINPUT_CUST -j ACCEPT`], V1)).rejects.toThrow(Vns3ValidationError);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect(await read()).toEqual([X]);
  });

  it('rolls back when the controller refuses a rule mid-plan, so no rule is lost', async () => {
    await setRules([X, A]);
    // The SDK lets this through (a known chain, one line); the controller refuses it (no -j target).
    const err = await ensureFirewallPolicy(mesh.clients[0]!, [A, 'INPUT_CUST -s 192.0.2.1'], V1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/refused a write.*2 previous rules were restored/);
    expect(await read()).toEqual([X, A]);
  });
});

describe('planFirewall and substitute', () => {
  it('plans a minimal edit by longest common subsequence', () => {
    const p = planFirewall(['a', 'b', 'c', 'd'], ['b', 'c', 'x', 'd', 'a']);
    expect(p.unchanged).toBe(3);
    expect(p.deletes).toEqual([{ position: 0, rule: 'a' }]);
    expect(p.inserts).toEqual([
      { position: 2, rule: 'x' },
      { position: 4, rule: 'a' },
    ]);
    // Applying the plan literally gives the desired list.
    const list = ['a', 'b', 'c', 'd'];
    for (const d of p.deletes) list.splice(d.position, 1);
    for (const i of p.inserts) list.splice(i.position, 0, i.rule);
    expect(list).toEqual(['b', 'c', 'x', 'd', 'a']);
  });

  it('substitutes names, keeps doubled braces literal and names the field of an unknown variable', () => {
    expect(substitute('{a}-{{b}}-{ a }', { a: 'x' }, { field: 'f' })).toBe('x-{b}-x');
    expect(() => substitute('{missing}', { a: 'x' }, { field: 'rules[7]' })).toThrow(/Invalid rules\[7\].*unknown variable \{missing\}; known variables: a/);
    expect(() => substitute('a } b', {}, { field: 'f' })).toThrow(/lone "}"/);
    expect(() => substitute('{1x}', { '1x': 'v' }, { field: 'f' })).toThrow(/not a variable name/);
  });
});

describe('ensureFirewallPolicy on many controllers', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('reads every controller first, writes each its difference, and writes nothing the second time', async () => {
    const rules = ['INPUT_CUST -s {private_ip}/32 -j ACCEPT', E];
    mesh.sim.resetCounters();
    const bad = await ensureFirewallPolicy(mesh.clients, ['INPUT_CUST -s {nope} -j ACCEPT']).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Vns3ValidationError);
    expect(mesh.sim.totalWrites()).toBe(0);
    const first = await ensureFirewallPolicy(mesh.clients, rules);
    expect(first.failed).toEqual([]);
    expect(first.succeeded.map((s) => s.value.desired[0])).toEqual(mesh.sim.controllers.map((c) => `INPUT_CUST -s ${c.identity.privateIp}/32 -j ACCEPT`));
    expect(mesh.sim.totalWrites()).toBe(4);
    mesh.sim.resetCounters();
    const second = await ensureFirewallPolicy(mesh.clients, rules);
    expect(second.succeeded.every((s) => s.value.inserts.length === 0 && s.value.deletes.length === 0)).toBe(true);
    expect(mesh.sim.totalWrites()).toBe(0);
  });
});
