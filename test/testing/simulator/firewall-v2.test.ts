import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Vns3Client } from '../../../src/client/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf } from './steps.js';

type V2Rule = { id: string; rule: string; position: number; table?: string; comment?: string; disabled?: boolean; groups?: string[]; os_rules?: { rule?: string; table?: string }[] };

const NAT = 'POSTROUTING -o eth0 -s 100.64.0.0/19 ! -d 100.64.0.0/19 -j MASQUERADE-ONCE';
const OUT = 'FORWARD -o eth0 -m state --state NEW,ESTABLISHED,RELATED -j ACCEPT';
const IN = 'FORWARD -i eth0 -j ACCEPT';
const DROP = 'FORWARD -s 100.64.0.0/19 -d 100.64.0.0/19 -o eth0 -j DROP';

describe('simulator: firewall v2 (and v1 over the same rules)', () => {
  let mesh: TestMesh;
  let fw: Vns3Client;
  const rules = async (): Promise<V2Rule[]> => (await fw.get('/v2/firewall/rules')) as V2Rule[];
  const v1 = async (client = fw): Promise<string[]> => (await client.get('/firewall/rules')).map((e) => String(e[0]));

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
    fw = mesh.clients[0]!;
  });
  afterAll(async () => mesh?.stop());
  beforeEach(async () => {
    for (const client of mesh.clients) {
      await client.put('/v2/firewall/rules', { body: { rules: [] } });
      for (const g of await client.get('/v2/firewall/rules-groups')) {
        await client.delete('/v2/firewall/rules-groups/{name}', { params: { path: { name: g.name }, query: { force: true } } });
      }
    }
  });

  it('keeps ids stable while positions follow the order of inserts and deletes', async () => {
    const created = await fw.raw.POST('/v2/firewall/rules', { body: { rule: IN, comment: 'response traffic' } });
    expect(created.response.status).toBe(201);
    const inRule = created.data!.response as V2Rule;
    expect(inRule).toMatchObject({ rule: IN, table: 'forward', position: 0, comment: 'response traffic', disabled: false, groups: [] });
    expect(inRule.id).toMatch(/^[0-9a-f]{20}$/);

    const first = (await fw.post('/v2/firewall/rules', { body: { rule: NAT, position: 0 } })) as V2Rule;
    const many = (await fw.post('/v2/firewall/rules', { body: { rules: [OUT, DROP], position: 1 } })) as { rules: V2Rule[]; errors: string[] };
    expect(many.errors).toEqual([]);
    const list = await rules();
    expect(list.map((r) => r.rule)).toEqual([NAT, OUT, DROP, IN]);
    expect(list.map((r) => r.position)).toEqual([0, 1, 2, 3]);
    expect(list[0]!.id).toBe(first.id);
    expect(list[3]!.id).toBe(inRule.id);
    expect(new Set(list.map((r) => r.id)).size).toBe(4);

    // An update keeps the id and the place; a delete moves the later rules up, ids unchanged.
    const updated = (await fw.put('/v2/firewall/rules/{id}', { params: { path: { id: many.rules[1]!.id } }, body: { comment: 'no VPN to VPN', disabled: true } })) as V2Rule;
    expect(updated).toMatchObject({ id: many.rules[1]!.id, position: 2, comment: 'no VPN to VPN', disabled: true });
    const removed = (await fw.delete('/v2/firewall/rules/{id}', { params: { path: { id: first.id } } })) as V2Rule;
    expect(removed).toMatchObject({ id: first.id, position: 0 });
    const after = await rules();
    expect(after.map((r) => [r.id, r.position])).toEqual([
      [list[1]!.id, 0],
      [list[2]!.id, 1],
      [list[3]!.id, 2],
    ]);
    expect((await fw.get('/v2/firewall/rules', { params: { query: { state: 'disabled' } } })).map((r) => r.id)).toEqual([list[2]!.id]);
    expect((await fw.get('/v2/firewall/rules', { params: { query: { state: 'active' } } })).length).toBe(2);
  });

  it('refuses what a controller refuses, with its messages and statuses', async () => {
    const unknown = await apiErrorOf(fw.delete('/v2/firewall/rules/{id}', { params: { path: { id: 'feedc0ffee' } } }));
    expect([unknown.status, unknown.apiMessage]).toEqual([404, 'rule does not exist']);
    expect((await apiErrorOf(fw.put('/v2/firewall/rules/{id}', { params: { path: { id: 'nope' } }, body: { comment: 'x' } }))).status).toBe(404);
    expect((await apiErrorOf(fw.post('/v2/firewall/rules', { body: { rule: 'NOPE -j ACCEPT' } }))).apiMessage).toBe('Invalid table for rule');
    expect((await apiErrorOf(fw.post('/v2/firewall/rules', { body: { rule: 'INPUT -s 10.199.2.0. -j DROP' } }))).apiMessage).toBe(
      "Parse Error - iptables v1.4.21: host/network `10.199.2.0.' not found",
    );
    expect((await apiErrorOf(fw.post('/v2/firewall/rules', { body: { rule: 'INPUT -s 10.0.0.0/8' } }))).apiMessage).toBe('Invalid rule');
    expect((await apiErrorOf(fw.post('/v2/firewall/rules', { body: { rule: IN, position: 3 } }))).status).toBe(400);
    // Several rules: the valid ones go in, the others are reported.
    const mixed = (await fw.post('/v2/firewall/rules', { body: { rules: [IN, 'BOGUS -j DROP'] } })) as { rules: V2Rule[]; errors: string[] };
    expect(mixed.rules.map((r) => r.rule)).toEqual([IN]);
    expect(mixed.errors).toEqual(['BOGUS -j DROP: Invalid table for rule']);
    expect((await apiErrorOf(fw.put('/v2/firewall/actions', { body: { action: 'reboot_everything' } }))).status).toBe(400);
    expect(await fw.put('/v2/firewall/actions', { body: { action: 'reset_connection_tracking' } })).toEqual({ status: 'ok' });
  });

  it('groups rules: created on demand, filtered, renamed, deleted only with force', async () => {
    const a = (await fw.post('/v2/firewall/rules', { body: { rule: NAT, groups: ['VPN2Internet'] } })) as V2Rule;
    const b = (await fw.post('/v2/firewall/rules', { body: { rule: OUT } })) as V2Rule;
    const c = (await fw.post('/v2/firewall/rules', { body: { rule: DROP, groups: ['BlockVPN2VPN'] } })) as V2Rule;
    expect(await fw.get('/v2/firewall/rules-groups/{name}', { params: { path: { name: 'VPN2Internet' } } })).toEqual({ name: 'VPN2Internet', description: '', rules: [a.id], size: 1 });

    const added = await fw.raw.POST('/v2/firewall/rules-groups/{name}/rules', { params: { path: { name: 'VPN2Internet' } }, body: { rule_id: b.id } });
    expect(added.response.status).toBe(201);
    const again = await fw.raw.POST('/v2/firewall/rules-groups/{name}/rules', { params: { path: { name: 'VPN2Internet' } }, body: { rule_id: b.id } });
    expect(again.response.status).toBe(200);
    expect((again.data!.response as { rules: string[] }).rules).toEqual([a.id, b.id]);
    expect((await fw.get('/v2/firewall/rules', { params: { query: { groups: 'VPN2Internet' } } })).map((r) => r.id)).toEqual([a.id, b.id]);
    expect((await apiErrorOf(fw.post('/v2/firewall/rules-groups/{name}/rules', { params: { path: { name: 'VPN2Internet' } }, body: { rule_id: 'missing' } }))).apiMessage).toBe('Rule missing does not exist');

    const made = await fw.raw.POST('/v2/firewall/rules-groups', { body: { name: 'Audit', description: 'review', rule_ids: [c.id, a.id] } });
    expect(made.response.status).toBe(201);
    expect((made.data!.response as { rules: string[] }).rules).toEqual([a.id, c.id]); // firewall order
    expect((await apiErrorOf(fw.post('/v2/firewall/rules-groups', { body: { name: 'Audit' } }))).apiMessage).toBe('Group with name Audit already exists');

    const renamed = await fw.put('/v2/firewall/rules-groups/{name}', { params: { path: { name: 'Audit' } }, body: { name: 'Reviewed', rule_ids: [b.id] } });
    expect(renamed).toMatchObject({ name: 'Reviewed', description: 'review', rules: [b.id], size: 1 });
    expect(((await rules()).find((r) => r.id === b.id)!.groups ?? []).sort()).toEqual(['Reviewed', 'VPN2Internet']);
    expect((await apiErrorOf(fw.get('/v2/firewall/rules-groups/{name}', { params: { path: { name: 'Audit' } } }))).status).toBe(404);

    const refused = await apiErrorOf(fw.delete('/v2/firewall/rules-groups/{name}', { params: { path: { name: 'VPN2Internet' } } }));
    expect([refused.status, refused.apiMessage]).toEqual([400, 'Group has rules defined. Please delete rules or pass force=true.']);
    const deleted = await fw.raw.DELETE('/v2/firewall/rules-groups/{name}', { params: { path: { name: 'VPN2Internet' }, query: { force: true } } });
    expect(deleted.response.status).toBe(202);
    expect((await rules()).map((r) => r.id)).toEqual([a.id, b.id, c.id]); // the rules stay
    expect((await rules()).find((r) => r.id === a.id)!.groups).toEqual([]);
  });

  it('v1 sees the enabled rules on the custom chains, at positions among them, and edits the same list', async () => {
    const [nat, , drop] = ((await fw.post('/v2/firewall/rules', { body: { rules: [NAT, OUT, DROP] } })) as { rules: V2Rule[] }).rules;
    await fw.put('/v2/firewall/rules/{id}', { params: { path: { id: drop!.id } }, body: { disabled: true } });
    expect(await v1()).toEqual([NAT.replace('POSTROUTING', 'POSTROUTING_CUST'), OUT.replace('FORWARD', 'FORWARD_CUST')]);
    const osview = (await fw.get('/v2/firewall/rules', { params: { query: { osview: true } } })) as V2Rule[];
    expect(osview[0]!.os_rules).toEqual([{ rule: NAT.replace('POSTROUTING', 'POSTROUTING_CUST'), position: 0, table: 'nat', rule_type: 'iptables' }]);
    expect(osview[2]!.os_rules).toEqual([]);

    // A v1 insert at v1 position 1 lands before the second enabled rule; v2 shows its v1 text.
    const masq = 'MACRO_CUST -o eth0 -s 198.51.100.2/32 -j MASQUERADE';
    await fw.post('/firewall/rules', { body: { rule: masq, position: 1 } });
    const list = await rules();
    expect(list.map((r) => r.rule)).toEqual([NAT, masq, OUT, DROP]);
    expect(list[1]).toMatchObject({ table: 'postrouting', position: 1 });
    // v1 deletes by position count enabled rules only; by text, the OS line or the v2 text.
    await fw.delete('/firewall/rules/{position}', { params: { path: { position: 0 } } });
    await fw.delete('/firewall/rules', { body: { rule: OUT } });
    expect((await rules()).map((r) => r.id)).toEqual([list[1]!.id, drop!.id]);
    expect(await v1()).toEqual([masq]);
    expect(nat).toBeDefined();

    // v1 overwrite: every line checked first, so a bad one changes nothing.
    expect((await apiErrorOf(fw.put('/firewall', { body: { rules: 'INPUT_CUST -j ACCEPT\nNOPE -j DROP' } }))).status).toBe(400);
    expect(await v1()).toEqual([masq]);
    const task = await fw.put('/firewall', { body: { rules: 'INPUT_CUST -j ACCEPT\n# a comment\nOUTPUT_CUST -j ACCEPT\n' } });
    expect(task.status).toBe('submitted');
    expect(await v1()).toEqual(['INPUT_CUST -j ACCEPT', 'OUTPUT_CUST -j ACCEPT']);
    expect(await fw.put('/firewall/actions', { body: { action: 'reset_connection_tracking' } })).toEqual({ status: 'ok' });
    // v1 subgroups are typed but not simulated: a documented, recognisable refusal.
    expect((await apiErrorOf(fw.get('/firewall/rules/subgroup'))).status).toBe(501);
  });

  it('exports and imports: JSON and plaintext round trips carry order, comments, groups and state', async () => {
    await fw.post('/v2/firewall/rules', { body: { rule: NAT, comment: 'Source NAT for traffic to the internet', groups: ['VPN2Internet'] } });
    await fw.post('/v2/firewall/rules', { body: { rule: OUT, groups: ['VPN2Internet', 'Egress'] } });
    await fw.post('/v2/firewall/rules', { body: { rule: DROP, disabled: true } });
    await fw.post('/v2/firewall/rules', { body: { rule: IN } });
    const shape = (list: V2Rule[]) => list.map(({ rule, table, comment, groups, disabled, position }) => ({ rule, table, comment, groups, disabled, position }));
    const source = shape(await rules());
    const other = mesh.clients[1]!;

    for (const type of ['json', 'plaintext'] as const) {
      const file = await fw.raw.GET('/v2/firewall/rules/export', { params: { query: { type } }, parseAs: 'text' });
      expect(file.response.headers.get('content-type')).toBe(type === 'json' ? 'application/json' : 'text/plain');
      await other.put('/v2/firewall/rules', { body: { rules: [] } });
      const imported = (await other.put('/v2/firewall/rules/import', { body: { rules: file.data as unknown as string } })) as { rules: V2Rule[]; errors: string[] };
      expect(imported.errors).toEqual([]);
      expect(shape((await other.get('/v2/firewall/rules')) as V2Rule[])).toEqual(source);
    }
    // A group's export, imported at the front of a non-empty firewall, disabled.
    const group = await fw.raw.GET('/v2/firewall/rules/export', { params: { query: { group: 'Egress', type: 'plaintext' } }, parseAs: 'text' });
    expect(group.data).toBe(`${OUT} # {"comment":"","groups":["VPN2Internet","Egress"],"disabled":false}\n`);
    await other.put('/v2/firewall/rules/import', { body: { rules: group.data as unknown as string, position: 0, disabled: true } });
    const front = ((await other.get('/v2/firewall/rules')) as V2Rule[])[0]!;
    expect(front).toMatchObject({ rule: OUT, disabled: true, position: 0 });
    expect((await apiErrorOf(other.put('/v2/firewall/rules/import', { body: { rules: 'BOGUS -j DROP' } }))).apiMessage).toBe('Invalid table for rule');
  });

  it('accepts the official Python SDK request shapes (string booleans, osview=True, overwrite by id, list imports)', async () => {
    const put = await fw.raw.POST('/v2/firewall/rules', {
      body: { rule: IN, position: -1, comment: 'c', groups: ['G'], disabled: 'False' as unknown as boolean },
    });
    expect(put.response.status).toBe(201);
    const kept = put.data!.response as V2Rule;
    const viaQuery = await fw.raw.GET('/v2/firewall/rules', { params: { query: { osview: 'True' as unknown as boolean } } });
    expect((viaQuery.data!.response as V2Rule[])[0]!.os_rules?.length).toBe(1);
    // put_overwrite_firewall_v2: rule dicts; an `id` keeps the rule (and its groups).
    const overwritten = await fw.put('/v2/firewall/rules', { body: { rules: [{ rule: NAT }, { rule: IN, id: kept.id, comment: 'kept' }] } });
    expect(overwritten.errors).toEqual([]);
    expect((await rules()).map((r) => [r.rule, r.id === kept.id, r.groups])).toEqual([
      [NAT, false, []],
      [IN, true, ['G']],
    ]);
    // import_firewall_rules: "a newline delimited string or list of str or list of rule objects".
    const imported = (await fw.put('/v2/firewall/rules/import', { body: { rules: [OUT, { rule: DROP, comment: 'd' }] } })) as { rules: V2Rule[] };
    expect(imported.rules.map((r) => [r.rule, r.comment, r.position])).toEqual([
      [OUT, '', 2],
      [DROP, 'd', 3],
    ]);
  });

  it('stores fwsets and subtables with the controller checks; references block deletion without force', async () => {
    const set = await fw.raw.POST('/v2/firewall/fwsets', { body: { name: 'humans', type: 'net', description: 'people', entries: '100.64.0.1,100.64.0.0/24,not-an-ip' } });
    expect(set.response.status).toBe(201);
    expect(set.data!.response).toMatchObject({ name: 'humans', size: 2, errors: [{ entry: 'not-an-ip', error: 'not an IPv4 address or network' }] });
    await fw.post('/v2/firewall/fwsets/{name}/entries', { params: { path: { name: 'humans' } }, body: { entry: '${tag_name_alex_person}' } });
    await fw.delete('/v2/firewall/fwsets/{name}/entries', { params: { path: { name: 'humans' } }, body: { entry: '100.64.0.1' } });
    expect((await fw.get('/v2/firewall/fwsets/{name}', { params: { path: { name: 'humans' } } })).entries.map((e) => e.entry)).toEqual(['100.64.0.0/24', '${tag_name_alex_person}']);
    expect((await apiErrorOf(fw.post('/v2/firewall/fwsets/{name}/entries', { params: { path: { name: 'humans' } }, body: { entry: '300.1.1.1' } }))).apiMessage).toBe('Error creating entry: 300.1.1.1');
    expect((await apiErrorOf(fw.get('/v2/firewall/fwsets/{name}', { params: { path: { name: 'robots' } } }))).apiMessage).toBe('Fwset does not exist');

    const table = await fw.raw.POST('/v2/firewall/subtables', {
      body: { name: 'test_my_group', type: 'prerouting', rules: [{ rule: 'test_my_group -i eth0 -j ACCEPT', position: 0 }, { rule: 'other -j DROP', position: 1 }] },
    });
    expect(table.response.status).toBe(201);
    expect(table.data!.response).toMatchObject({ size: 1, errors: [{ rule: 'other -j DROP', error: 'Invalid rule for subtable. Subtable rules must start with name of subtable.' }] });
    expect((await apiErrorOf(fw.post('/v2/firewall/subtables', { body: { name: 'x', type: 'sideways' } }))).apiMessage).toBe('invalid subtable type');
    await fw.post('/v2/firewall/subtables/{name}/rules', { params: { path: { name: 'test_my_group' } }, body: { rule: 'test_my_group -p tcp -j DROP', position: 0 } });
    expect((await fw.get('/v2/firewall/subtables/{name}', { params: { path: { name: 'test_my_group' } } })).rules.map((r) => r.position)).toEqual([0, 1]);

    await fw.post('/v2/firewall/rules', { body: { rules: ['PREROUTING -s 10.0.2.0/24 -j test_my_group', 'INPUT -m set --match-set humans src -j ACCEPT'] } });
    expect((await apiErrorOf(fw.delete('/v2/firewall/subtables/{name}', { params: { path: { name: 'test_my_group' } } }))).apiMessage).toBe('Firewall rule with subtable exists. Please delete rule first.');
    expect((await apiErrorOf(fw.delete('/v2/firewall/fwsets/{name}', { params: { path: { name: 'humans' } } }))).apiMessage).toBe('Fwset has references. These can be firewall rules or other fwsets.');
    expect((await fw.raw.DELETE('/v2/firewall/subtables/{name}', { params: { path: { name: 'test_my_group' }, query: { force: true } } })).response.status).toBe(202);
    expect((await fw.raw.DELETE('/v2/firewall/fwsets/{name}', { params: { path: { name: 'humans' }, query: { force: true } } })).response.status).toBe(202);
    expect(await fw.get('/v2/firewall/fwsets')).toEqual([]);
    expect(await fw.get('/v2/firewall/subtables')).toEqual([]);
  });
});
