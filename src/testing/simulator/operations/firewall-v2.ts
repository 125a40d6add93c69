import { badRequest, notFound, SimApiError } from '../errors.js';
import { type FirewallRule, type FirewallState, osRuleText, osTable } from '../firewall-state.js';
import { queryFlag } from './containers.js';
import { firewallAction } from './firewall.js';
import { OpReply, created, fileReply, type OperationTable } from './types.js';

/**
 * Firewall v2 (VNS3 6.x): rules with stable ids in one ordered list, groups of rules, import and
 * export. Same rule list as v1 (firewall-state.ts). Messages are the reference's where it gives
 * them (`rule does not exist`, `group does not exist`, `Invalid table for rule`, …).
 */

type RuleInput = { rule?: unknown; comment?: string; groups?: string[]; disabled?: boolean; id?: string; position?: number; table?: string };

/** A rule as v2 answers it; `os_rules` only with `osview` (empty while the rule is disabled). */
function ruleView(fw: FirewallState, rule: FirewallRule, osview = false): Record<string, unknown> {
  const position = fw.rules.indexOf(rule);
  const view: Record<string, unknown> = {
    id: rule.id,
    rule: rule.rule,
    rule_resolved: rule.rule,
    table: rule.table,
    position: position < 0 ? 0 : position,
    comment: rule.comment,
    last_resolved: rule.createdAt,
    disabled: rule.disabled,
    created_at: rule.createdAt,
    groups: [...rule.groups],
  };
  if (osview) {
    const enabled = fw.rules.filter((r) => !r.disabled);
    view.os_rules = rule.disabled ? [] : [{ rule: osRuleText(rule), position: enabled.indexOf(rule), table: osTable(rule.table), rule_type: 'iptables' }];
  }
  return view;
}

/** The view of a rule taken out of the list, at the position it had. */
function removedView(fw: FirewallState, removed: { rule: FirewallRule; position: number }): Record<string, unknown> {
  return { ...ruleView(fw, removed.rule), position: removed.position };
}

const csv = (value: string | null): string[] | undefined =>
  value === null || value.trim() === '' ? undefined : value.split(',').map((s) => s.trim()).filter((s) => s !== '');

function groupView(fw: FirewallState, name: string): Record<string, unknown> {
  const group = fw.groups.get(name);
  if (!group) throw notFound('group does not exist');
  const rules = fw.groupRules(name);
  return { name, description: group.description, rules, size: rules.length };
}

/** Rule ids that must all exist, or a 400 naming the first missing one (the reference's message). */
function existingRules(fw: FirewallState, ids: readonly string[] | undefined): FirewallRule[] {
  return (ids ?? []).map((id) => {
    const rule = fw.find(id);
    if (!rule) throw badRequest(`Rule ${id} does not exist`);
    return rule;
  });
}

/**
 * Several rules at once: each is checked on its own; the valid ones go in (in order, from
 * `position`), the others are reported with their reason.
 */
function createMany(fw: FirewallState, inputs: RuleInput[], position: number | undefined, shared: { groups?: string[]; disabled?: boolean }): { made: FirewallRule[]; errors: { rule: string; error: string }[] } {
  fw.insertionIndex(position); // a bad position refuses the whole request
  const made: FirewallRule[] = [];
  const errors: { rule: string; error: string }[] = [];
  for (const input of inputs) {
    try {
      made.push(
        fw.makeRule(input.rule, 'v2', {
          comment: input.comment,
          disabled: shared.disabled ?? input.disabled,
          groups: [...(input.groups ?? []), ...(shared.groups ?? [])],
        }),
      );
    } catch (err) {
      if (!(err instanceof SimApiError)) throw err;
      errors.push({ rule: String(input.rule ?? ''), error: err.message });
    }
  }
  fw.insert(made, position);
  return { made, errors };
}

/**
 * The rules of an import: the JSON of an export (a list of rule objects, or one), rules one per
 * line (a plaintext export: `RULE` or `RULE # {"comment":…,"groups":[…],"disabled":…}`), or — as
 * the official Python SDK documents — a list of strings or rule objects.
 */
function parseImport(rules: unknown): RuleInput[] {
  const fromItem = (item: unknown): RuleInput => (typeof item === 'string' ? { rule: item } : (item as RuleInput));
  if (Array.isArray(rules)) return rules.map(fromItem);
  const text = String(rules).trim();
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return (Array.isArray(parsed) ? parsed : [parsed]).map(fromItem);
    } catch {
      throw badRequest('Invalid import: rules look like JSON but do not parse.');
    }
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const mark = line.indexOf(' # {');
      if (mark < 0) return { rule: line };
      try {
        return { ...(JSON.parse(line.slice(mark + 3)) as RuleInput), rule: line.slice(0, mark) };
      } catch {
        return { rule: line.slice(0, mark) };
      }
    });
}

/** The rules an export covers, in order (an unknown group or table covers none). */
function exported(fw: FirewallState, group: string | null, tables: string[] | undefined): FirewallRule[] {
  return fw.rules.filter((r) => (!group || r.groups.includes(group)) && (!tables || tables.includes(r.table)));
}

function exportFile(rules: FirewallRule[], type: string): { contentType: string; text: string } {
  if (type === 'plaintext') {
    const lines = rules.map((r) => {
      const meta = r.comment !== '' || r.groups.length > 0 || r.disabled ? ` # ${JSON.stringify({ comment: r.comment, groups: r.groups, disabled: r.disabled })}` : '';
      return `${r.rule}${meta}`;
    });
    return { contentType: 'text/plain', text: lines.length ? `${lines.join('\n')}\n` : '' };
  }
  const list = rules.map((r) => ({ rule: r.rule, table: r.table, comment: r.comment, groups: r.groups, disabled: r.disabled }));
  return { contentType: 'application/json', text: JSON.stringify(list) };
}

/** A group's membership set to exactly `ids` (every id checked first). */
function setGroupRules(fw: FirewallState, name: string, ids: readonly string[]): void {
  const wanted = new Set(existingRules(fw, ids).map((r) => r.id));
  for (const rule of fw.rules) {
    const member = rule.groups.includes(name);
    if (wanted.has(rule.id) && !member) rule.groups.push(name);
    if (!wanted.has(rule.id) && member) rule.groups = rule.groups.filter((g) => g !== name);
  }
}

export const firewallV2Operations: OperationTable = {
  'GET /v2/firewall/rules': ({ ctl, query }) => {
    const fw = ctl.firewall;
    const state = query.get('state');
    const groups = csv(query.get('groups'));
    const tables = csv(query.get('tables'));
    const osview = queryFlag(query, 'osview', false);
    return fw.rules
      .filter((r) => state !== 'active' || !r.disabled)
      .filter((r) => state !== 'disabled' || r.disabled)
      .filter((r) => !groups || r.groups.some((g) => groups.includes(g)))
      .filter((r) => !tables || tables.includes(r.table))
      .map((r) => ruleView(fw, r, osview));
  },

  'POST /v2/firewall/rules': ({ ctl, body }) => {
    const fw = ctl.firewall;
    const b = body as RuleInput & { rules?: string[] };
    if (b.rule !== undefined && b.rules !== undefined) throw badRequest('Provide rule or rules, not both.');
    if (b.rules === undefined) {
      const rule = fw.makeRule(b.rule, 'v2', { comment: b.comment, disabled: b.disabled, groups: b.groups });
      fw.insert([rule], b.position);
      return created(ruleView(fw, rule));
    }
    const { made, errors } = createMany(fw, b.rules.map((rule) => ({ rule, comment: b.comment })), b.position, { groups: b.groups, disabled: b.disabled });
    return created({ rules: made.map((r) => ruleView(fw, r)), errors: errors.map((e) => `${e.rule}: ${e.error}`) });
  },

  /** Replaces the firewall; a rule given with an existing id keeps it (and its groups unless given). */
  'PUT /v2/firewall/rules': ({ ctl, body }) => {
    const fw = ctl.firewall;
    const inputs = (body as { rules: RuleInput[] }).rules;
    const made: { rule: FirewallRule; order: number }[] = [];
    const errors: { rule: string; error: string }[] = [];
    inputs.forEach((input, index) => {
      const previous = input.id === undefined ? undefined : fw.find(input.id);
      try {
        const rule = fw.makeRule(input.rule, 'v2', { comment: input.comment, disabled: input.disabled, groups: input.groups ?? previous?.groups, id: previous?.id });
        made.push({ rule: previous ? { ...rule, createdAt: previous.createdAt } : rule, order: input.position ?? index });
      } catch (err) {
        if (!(err instanceof SimApiError)) throw err;
        errors.push({ rule: String(input.rule ?? ''), error: err.message });
      }
    });
    fw.rules = made.sort((a, b) => a.order - b.order).map((m) => m.rule);
    return { rules: fw.rules.map((r) => ruleView(fw, r)), errors };
  },

  'PUT /v2/firewall/rules/import': ({ ctl, body }) => {
    const fw = ctl.firewall;
    const b = body as { rules: unknown; position?: number; disabled?: boolean; groups?: string[] };
    const inputs = parseImport(b.rules);
    if (inputs.length === 0) throw badRequest('No rules to import.');
    const { made, errors } = createMany(fw, inputs, b.position, { groups: b.groups, disabled: b.disabled });
    if (made.length === 0) throw badRequest(errors[0]?.error ?? 'Invalid rule');
    return { rules: made.map((r) => ruleView(fw, r)), errors: errors.map((e) => `${e.rule}: ${e.error}`) };
  },

  'GET /v2/firewall/rules/export': ({ ctl, query }) => {
    const type = query.get('type') ?? 'json';
    const file = exportFile(exported(ctl.firewall, query.get('group'), csv(query.get('tables'))), type);
    return fileReply(file.contentType, Buffer.from(file.text, 'utf8'));
  },

  'PUT /v2/firewall/rules/{id}': ({ ctl, params, body }) => {
    const fw = ctl.firewall;
    const rule = fw.find(params.id!);
    if (!rule) throw notFound('rule does not exist');
    const b = body as RuleInput;
    // Everything is checked before anything changes.
    const next = b.rule === undefined ? rule : fw.makeRule(b.rule, 'v2');
    for (const name of b.groups ?? []) fw.ensureGroup(name);
    Object.assign(rule, { rule: next.rule, table: next.table });
    if (b.comment !== undefined) rule.comment = b.comment;
    if (b.disabled !== undefined) rule.disabled = b.disabled;
    if (b.groups !== undefined) rule.groups = [...new Set(b.groups)];
    return { ...ruleView(fw, rule), errors: [] };
  },

  'DELETE /v2/firewall/rules/{id}': ({ ctl, params }) => {
    const removed = ctl.firewall.remove(params.id!);
    if (!removed) throw notFound('rule does not exist');
    return removedView(ctl.firewall, removed);
  },

  'PUT /v2/firewall/actions': ({ body }) => firewallAction(body),

  'GET /v2/firewall/rules-groups': ({ ctl }) => [...ctl.firewall.groups.keys()].map((name) => groupView(ctl.firewall, name)),

  'POST /v2/firewall/rules-groups': ({ ctl, body }) => {
    const fw = ctl.firewall;
    const b = body as { name: string; description?: string; rule_ids?: string[] };
    if (fw.groups.has(b.name)) throw badRequest(`Group with name ${b.name} already exists`);
    const rules = existingRules(fw, b.rule_ids);
    fw.groups.set(b.name, { name: b.name, description: b.description ?? '' });
    for (const rule of rules) if (!rule.groups.includes(b.name)) rule.groups.push(b.name);
    return created(groupView(fw, b.name));
  },

  'GET /v2/firewall/rules-groups/{name}': ({ ctl, params }) => groupView(ctl.firewall, params.name!),

  'PUT /v2/firewall/rules-groups/{name}': ({ ctl, params, body }) => {
    const fw = ctl.firewall;
    const group = fw.groups.get(params.name!);
    if (!group) throw notFound('group does not exist');
    const b = body as { name?: string; description?: string; rule_ids?: string[] };
    const rename = b.name !== undefined && b.name !== group.name ? b.name : undefined;
    if (rename && fw.groups.has(rename)) throw badRequest(`Group with name ${rename} already exists`);
    if (b.rule_ids) setGroupRules(fw, group.name, b.rule_ids);
    if (b.description !== undefined) group.description = b.description;
    if (rename) {
      fw.groups.delete(group.name);
      for (const rule of fw.rules) rule.groups = rule.groups.map((g) => (g === group.name ? rename : g));
      group.name = rename;
      fw.groups.set(rename, group);
    }
    return groupView(fw, group.name);
  },

  'DELETE /v2/firewall/rules-groups/{name}': ({ ctl, params, query }) => {
    const fw = ctl.firewall;
    const view = groupView(fw, params.name!);
    if ((view.size as number) > 0 && !queryFlag(query, 'force', false)) throw badRequest('Group has rules defined. Please delete rules or pass force=true.');
    for (const rule of fw.rules) rule.groups = rule.groups.filter((g) => g !== params.name);
    fw.groups.delete(params.name!);
    return new OpReply(202, view);
  },

  'POST /v2/firewall/rules-groups/{name}/rules': ({ ctl, params, body }) => {
    const fw = ctl.firewall;
    groupView(fw, params.name!); // 404 first
    const [rule] = existingRules(fw, [(body as { rule_id: string }).rule_id]);
    if (rule!.groups.includes(params.name!)) return groupView(fw, params.name!);
    rule!.groups.push(params.name!);
    return created(groupView(fw, params.name!));
  },
};
