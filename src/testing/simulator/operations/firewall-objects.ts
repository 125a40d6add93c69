import { randomBytes } from 'node:crypto';
import { badRequest, notFound } from '../errors.js';
import { type Fwset, type FwsetEntry, type Subtable, type SubtableRule, V2_TABLES, type V2Table, controllerTime, normalizeRuleText } from '../firewall-state.js';
import { queryFlag } from './containers.js';
import { OpReply, created, fileReply, type OperationTable } from './types.js';

/**
 * Firewall v2 fwsets (ipsets) and subtables, stored with the controller's checks and messages.
 * They are not matched against traffic: rules that refer to them (`--match-set NAME`, `-j NAME`)
 * only keep them from being deleted without `force`, as on a controller.
 */

type EntryInput = string | { entry: string; comment?: string };
type SubtableRuleInput = { rule: string; position?: number; comment?: string; disabled?: boolean };

const IPV4_NET = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/;
const VARIABLE = /^\$\{\w+\}$/;

/** Whether an entry fits the set's type; `${variables}` resolve later, so they always fit. */
function entryProblem(type: Fwset['type'], entry: string): string | undefined {
  if (entry === '' || /\s/.test(entry)) return 'invalid entry';
  if (VARIABLE.test(entry)) return undefined;
  if (type === 'net' && !IPV4_NET.test(entry)) return 'not an IPv4 address or network';
  if (type === 'port' && !/^\d{1,5}(:\d{1,5})?$/.test(entry)) return 'not a port or port range';
  return undefined;
}

/** Entries checked one by one: the valid ones, and the others with their reason. */
function makeEntries(type: Fwset['type'], inputs: EntryInput[]): { entries: FwsetEntry[]; errors: Record<string, unknown>[] } {
  const entries: FwsetEntry[] = [];
  const errors: Record<string, unknown>[] = [];
  for (const input of inputs) {
    const { entry, comment = '' } = typeof input === 'string' ? { entry: input } : input;
    const problem = entryProblem(type, entry.trim());
    if (problem) errors.push({ entry, comment, error: problem });
    else if (!entries.some((e) => e.entry === entry.trim())) entries.push({ entry: entry.trim(), comment, createdAt: controllerTime() });
  }
  return { entries, errors };
}

function fwsetView(set: Fwset): Record<string, unknown> {
  return {
    name: set.name,
    description: set.description,
    created_at: set.createdAt,
    updated_at: set.updatedAt,
    type: set.type,
    size: set.entries.length,
    entries: set.entries.map((e) => ({ entry: e.entry, comment: e.comment, entry_resolved: e.entry, last_resolved: e.createdAt, created_at: e.createdAt })),
  };
}

function subtableView(table: Subtable): Record<string, unknown> {
  return {
    name: table.name,
    description: table.description,
    created_at: table.createdAt,
    updated_at: table.updatedAt,
    type: table.type,
    size: table.rules.length,
    rules: table.rules.map((r, position) => ({ id: r.id, rule: r.rule, rule_resolved: r.rule, position, comment: r.comment, disabled: r.disabled })),
  };
}

/** Rules of a subtable must start with its name (the reference's message otherwise). */
function makeSubtableRule(name: string, input: SubtableRuleInput): SubtableRule {
  const rule = normalizeRuleText(String(input.rule ?? ''));
  if (rule.split(' ')[0] !== name || !/ -j \S+/.test(rule)) {
    throw badRequest('Invalid rule for subtable. Subtable rules must start with name of subtable.');
  }
  return { id: randomBytes(10).toString('hex'), rule, comment: input.comment ?? '', disabled: input.disabled === true };
}

/** Subtable rules checked one by one, placed by their `position` (stable), with the refused ones. */
function makeSubtableRules(name: string, inputs: SubtableRuleInput[]): { rules: SubtableRule[]; errors: Record<string, unknown>[] } {
  const made: { rule: SubtableRule; order: number }[] = [];
  const errors: Record<string, unknown>[] = [];
  inputs.forEach((input, index) => {
    try {
      made.push({ rule: makeSubtableRule(name, input), order: input.position ?? index });
    } catch (err) {
      errors.push({ rule: String(input.rule ?? ''), position: input.position ?? index, error: (err as Error).message });
    }
  });
  return { rules: made.sort((a, b) => a.order - b.order).map((m) => m.rule), errors };
}

const NAME = /^[A-Za-z0-9_-]+$/;

function fwsetNamed(sets: Map<string, Fwset>, name: string, message = 'Fwset does not exist'): Fwset {
  const set = sets.get(name);
  if (!set) throw notFound(message);
  return set;
}

function subtableNamed(tables: Map<string, Subtable>, name: string): Subtable {
  const table = tables.get(name);
  if (!table) throw notFound('Subtable does not exist');
  return table;
}

export const firewallObjectOperations: OperationTable = {
  'GET /v2/firewall/fwsets': ({ ctl }) => [...ctl.firewall.fwsets.values()].map(fwsetView),

  'POST /v2/firewall/fwsets': ({ ctl, body }) => {
    const b = body as { name: string; type: Fwset['type']; description?: string; entries?: string | EntryInput[] };
    if (ctl.firewall.fwsets.has(b.name)) throw badRequest(`Fwset with name ${b.name} already exists`);
    const inputs = typeof b.entries === 'string' ? b.entries.split(',').filter((e) => e.trim() !== '') : (b.entries ?? []);
    const { entries, errors } = makeEntries(b.type, inputs);
    const now = controllerTime();
    const set: Fwset = { name: b.name, type: b.type, description: b.description ?? '', createdAt: now, updatedAt: now, entries };
    ctl.firewall.fwsets.set(set.name, set);
    return created({ ...fwsetView(set), errors });
  },

  'GET /v2/firewall/fwsets/{name}': ({ ctl, params }) => fwsetView(fwsetNamed(ctl.firewall.fwsets, params.name!)),

  'PUT /v2/firewall/fwsets/{name}': ({ ctl, params, body }) => {
    const sets = ctl.firewall.fwsets;
    const set = fwsetNamed(sets, params.name!);
    const b = body as { name?: string; description?: string; entries?: EntryInput[] };
    if (b.name !== undefined && b.name !== set.name && sets.has(b.name)) throw badRequest(`Failed to rename set. OS error: set ${b.name} exists`);
    const made = b.entries ? makeEntries(set.type, b.entries) : { entries: set.entries, errors: [] };
    if (b.name !== undefined && b.name !== set.name) {
      sets.delete(set.name);
      set.name = b.name;
      sets.set(set.name, set);
    }
    if (b.description !== undefined) set.description = b.description;
    set.entries = made.entries;
    set.updatedAt = controllerTime();
    return { ...fwsetView(set), errors: made.errors };
  },

  'DELETE /v2/firewall/fwsets/{name}': ({ ctl, params, query }) => {
    const set = fwsetNamed(ctl.firewall.fwsets, params.name!, 'fwset does not exist');
    const used = ctl.firewall.rules.some((r) => r.rule.split(' ').some((w, i, words) => w === set.name && words[i - 1] === '--match-set'));
    if (used && !queryFlag(query, 'force', false)) throw badRequest('Fwset has references. These can be firewall rules or other fwsets.');
    ctl.firewall.fwsets.delete(set.name);
    return new OpReply(202, fwsetView(set));
  },

  'POST /v2/firewall/fwsets/{name}/entries': ({ ctl, params, body }) => {
    const set = fwsetNamed(ctl.firewall.fwsets, params.name!);
    const b = body as { entry: string; comment?: string };
    const { entries, errors } = makeEntries(set.type, [b]);
    if (errors.length > 0) throw badRequest(`Error creating entry: ${b.entry}`);
    if (!set.entries.some((e) => e.entry === entries[0]!.entry)) set.entries.push(entries[0]!);
    set.updatedAt = controllerTime();
    return created(fwsetView(set));
  },

  'DELETE /v2/firewall/fwsets/{name}/entries': ({ ctl, params, body }) => {
    const set = fwsetNamed(ctl.firewall.fwsets, params.name!);
    const entry = (body as { entry: string }).entry.trim();
    const index = set.entries.findIndex((e) => e.entry === entry);
    if (index < 0) throw badRequest(`Error deleting entry: ${entry}`);
    set.entries.splice(index, 1);
    set.updatedAt = controllerTime();
    return fwsetView(set);
  },

  'GET /v2/firewall/subtables': ({ ctl }) => [...ctl.firewall.subtables.values()].map(subtableView),

  'POST /v2/firewall/subtables': ({ ctl, body }) => {
    const b = body as { name: string; type: string; description?: string; rules?: SubtableRuleInput[] };
    if (!NAME.test(b.name)) throw badRequest('invalid subtable name');
    if (!(V2_TABLES as readonly string[]).includes(b.type)) throw badRequest('invalid subtable type');
    if (ctl.firewall.subtables.has(b.name)) throw badRequest(`Subtable with name ${b.name} already exists`);
    const { rules, errors } = makeSubtableRules(b.name, b.rules ?? []);
    const now = controllerTime();
    const table: Subtable = { name: b.name, type: b.type as V2Table, description: b.description ?? '', createdAt: now, updatedAt: now, rules };
    ctl.firewall.subtables.set(table.name, table);
    return created({ ...subtableView(table), errors });
  },

  'GET /v2/firewall/subtables/{name}': ({ ctl, params }) => subtableView(subtableNamed(ctl.firewall.subtables, params.name!)),

  'PUT /v2/firewall/subtables/{name}': ({ ctl, params, body }) => {
    const table = subtableNamed(ctl.firewall.subtables, params.name!);
    const b = body as { description?: string; rules?: SubtableRuleInput[] };
    const made = b.rules ? makeSubtableRules(table.name, b.rules) : { rules: table.rules, errors: [] };
    if (b.description !== undefined) table.description = b.description;
    table.rules = made.rules;
    table.updatedAt = controllerTime();
    return { ...subtableView(table), errors: made.errors };
  },

  'DELETE /v2/firewall/subtables/{name}': ({ ctl, params, query }) => {
    const table = subtableNamed(ctl.firewall.subtables, params.name!);
    const used = ctl.firewall.rules.some((r) => r.rule.split(' ').some((w, i, words) => w === table.name && words[i - 1] === '-j'));
    if (used && !queryFlag(query, 'force', false)) throw badRequest('Firewall rule with subtable exists. Please delete rule first.');
    ctl.firewall.subtables.delete(table.name);
    return new OpReply(202, subtableView(table));
  },

  'POST /v2/firewall/subtables/{name}/rules': ({ ctl, params, body }) => {
    const table = subtableNamed(ctl.firewall.subtables, params.name!);
    const b = body as SubtableRuleInput;
    const rule = makeSubtableRule(table.name, b);
    const position = b.position === undefined || b.position === -1 ? table.rules.length : b.position;
    if (!Number.isInteger(position) || position < 0 || position > table.rules.length) throw badRequest(`Invalid position: ${String(b.position)}`);
    table.rules.splice(position, 0, rule);
    table.updatedAt = controllerTime();
    return created({ ...subtableView(table), errors: [] });
  },
};
