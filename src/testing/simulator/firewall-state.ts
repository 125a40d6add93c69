/**
 * The firewall of one simulated controller: ONE ordered rule list that both APIs edit, as on a
 * VNS3 6.x controller, where v1 is kept for old automation and v2 is the firewall itself.
 *
 * - v2 sees every rule: its id, text, table, comment, groups and whether it is disabled.
 * - v1 sees what the OS enforces: the enabled rules only, each as its OS-level line on the VNS3
 *   custom chains (`FORWARD -i eth0 -j ACCEPT` is `FORWARD_CUST -i eth0 -j ACCEPT`), positions
 *   counted among them. The reference's own v2 example shows that mapping in `os_rules`.
 * - A rule written through v1 keeps its v1 text (`MACRO_CUST …` has no v2 spelling); v2 shows it
 *   as is, in the table its chain belongs to. So v1 automation round-trips exactly, and v2 can
 *   see, regroup or disable what v1 wrote.
 * Fwsets and subtables are stored objects with the controller's checks; they are not matched
 * against traffic.
 */
import { randomBytes } from 'node:crypto';
import { badRequest } from './errors.js';

/** The tables of v2 and the chain each is written with. */
export const V2_TABLES = ['input', 'output', 'forward', 'prerouting', 'postrouting'] as const;
export type V2Table = (typeof V2_TABLES)[number];

/** Chains a rule may start with, and the table each belongs to: v2 spellings and the v1 custom chains. */
const CHAIN_TABLES: Record<string, V2Table> = {
  INPUT: 'input',
  OUTPUT: 'output',
  FORWARD: 'forward',
  PREROUTING: 'prerouting',
  POSTROUTING: 'postrouting',
  INPUT_CUST: 'input',
  OUTPUT_CUST: 'output',
  FORWARD_CUST: 'forward',
  FORWARD_CUST_PRE: 'forward',
  PREROUTING_CUST: 'prerouting',
  POSTROUTING_CUST: 'postrouting',
  MACRO_CUST: 'postrouting',
};

/** The v1 chains (what `GET /firewall/rules` shows and `POST /firewall/rules` takes). */
export const V1_CHAINS = Object.keys(CHAIN_TABLES).filter((c) => c.endsWith('_CUST') || c === 'FORWARD_CUST_PRE');

export interface FirewallRule {
  id: string;
  /** Whitespace-normalised text, as the controller stores it. */
  rule: string;
  table: V2Table;
  comment: string;
  disabled: boolean;
  groups: string[];
  createdAt: string;
}

export interface RuleGroup {
  name: string;
  description: string;
}

export interface FwsetEntry {
  entry: string;
  comment: string;
  createdAt: string;
}

export interface Fwset {
  name: string;
  type: 'net' | 'list' | 'service' | 'port';
  description: string;
  createdAt: string;
  updatedAt: string;
  entries: FwsetEntry[];
}

export interface SubtableRule {
  id: string;
  rule: string;
  comment: string;
  disabled: boolean;
}

export interface Subtable {
  name: string;
  type: V2Table;
  description: string;
  createdAt: string;
  updatedAt: string;
  rules: SubtableRule[];
}

/** The controller's timestamp text (`2022-06-06 18:44:14.343000+00:00`), as the reference's examples show it. */
export function controllerTime(date = new Date()): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000+00:00`;
}

export const normalizeRuleText = (rule: string): string => rule.trim().replace(/\s+/g, ' ');

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/;

/**
 * What iptables would refuse in an address option (`-s`, `-d`, `--to`…): something that looks like
 * an IPv4 address or network but is not one. The message is iptables' own, as the reference shows.
 */
function checkAddresses(words: string[]): void {
  words.forEach((word, i) => {
    const option = words[i - 1];
    if (option !== '-s' && option !== '-d' && option !== '--source' && option !== '--destination') return;
    if (/^[\d./]+$/.test(word) && !IPV4.test(word)) {
      throw badRequest(`Parse Error - iptables v1.4.21: host/network \`${word}' not found`);
    }
  });
}

/**
 * Checks a rule like a controller and returns its normalised text and table. v1 rules must use
 * the custom chains; v2 rules may use either spelling (see the top of this file).
 */
export function checkRule(raw: unknown, api: 'v1' | 'v2'): { rule: string; table: V2Table } {
  if (typeof raw !== 'string' || raw.trim() === '') throw badRequest(api === 'v1' ? 'Invalid firewall rule: empty rule.' : 'Invalid rule');
  if (/[\r\n\0]/.test(raw)) throw badRequest(api === 'v1' ? 'Invalid firewall rule: one rule per request.' : 'Invalid rule');
  const rule = normalizeRuleText(raw);
  const words = rule.split(' ');
  const chain = words[0] ?? '';
  const table = CHAIN_TABLES[chain];
  if (api === 'v1' && !V1_CHAINS.includes(chain)) throw badRequest(`Invalid firewall rule: unknown chain '${chain}'.`);
  if (!table) throw badRequest('Invalid table for rule');
  const target = words.indexOf('-j');
  if (target < 1 || words[target + 1] === undefined) {
    throw badRequest(api === 'v1' ? 'Invalid firewall rule: a target (-j) is required.' : 'Invalid rule');
  }
  checkAddresses(words);
  return { rule, table };
}

/** The line the OS enforces for a rule: v2 chains become the VNS3 custom chains. */
export function osRuleText(rule: FirewallRule): string {
  const [chain, ...rest] = rule.rule.split(' ');
  return chain && !V1_CHAINS.includes(chain) ? [`${chain}_CUST`, ...rest].join(' ') : rule.rule;
}

/** The iptables table an OS rule lives in. */
export const osTable = (table: V2Table): string => (table === 'prerouting' || table === 'postrouting' ? 'nat' : 'filter');

const newId = (): string => randomBytes(10).toString('hex');

/** One controller's firewall: rules, groups, fwsets, subtables; every change goes through a method. */
export class FirewallState {
  rules: FirewallRule[] = [];
  readonly groups = new Map<string, RuleGroup>();
  readonly fwsets = new Map<string, Fwset>();
  readonly subtables = new Map<string, Subtable>();

  /** A new rule (not yet in the list); its groups are created when missing (our choice). */
  makeRule(text: unknown, api: 'v1' | 'v2', extra: { comment?: string; disabled?: boolean; groups?: string[]; id?: string } = {}): FirewallRule {
    const { rule, table } = checkRule(text, api);
    const groups = [...new Set(extra.groups ?? [])];
    for (const name of groups) this.ensureGroup(name);
    return { id: extra.id ?? newId(), rule, table, comment: extra.comment ?? '', disabled: extra.disabled === true, groups, createdAt: controllerTime() };
  }

  ensureGroup(name: string): void {
    if (name.trim() === '') throw badRequest('Invalid group name');
    if (!this.groups.has(name)) this.groups.set(name, { name, description: '' });
  }

  /** Index in the list for a v2 position; -1 (or undefined) appends. */
  insertionIndex(position: number | undefined): number {
    if (position === undefined || position === -1) return this.rules.length;
    if (!Number.isInteger(position) || position < 0 || position > this.rules.length) {
      throw badRequest(`Invalid position: ${String(position)} (there are ${this.rules.length} rules).`);
    }
    return position;
  }

  insert(rules: FirewallRule[], position: number | undefined): void {
    this.rules.splice(this.insertionIndex(position), 0, ...rules);
  }

  find(id: string): FirewallRule | undefined {
    return this.rules.find((r) => r.id === id);
  }

  remove(id: string): { rule: FirewallRule; position: number } | undefined {
    const position = this.rules.findIndex((r) => r.id === id);
    if (position < 0) return undefined;
    const [rule] = this.rules.splice(position, 1);
    return { rule: rule!, position };
  }

  /** Ids of the rules in a group, in firewall order. */
  groupRules(name: string): string[] {
    return this.rules.filter((r) => r.groups.includes(name)).map((r) => r.id);
  }

  // ------------------------------------------------------------------ the v1 view

  /** The enabled rules as the OS enforces them: what v1 lists. */
  v1Rules(): string[] {
    return this.rules.filter((r) => !r.disabled).map(osRuleText);
  }

  /** Inserts a v1 rule before the `position`-th enabled rule (-1 or the count appends). */
  v1Insert(rule: FirewallRule, position: number): void {
    const enabled = this.rules.filter((r) => !r.disabled);
    const before = enabled[position];
    this.rules.splice(before ? this.rules.indexOf(before) : this.rules.length, 0, rule);
  }

  /** Removes the `position`-th enabled rule. */
  v1RemoveAt(position: number): FirewallRule | undefined {
    const target = this.rules.filter((r) => !r.disabled)[position];
    if (target) this.remove(target.id);
    return target;
  }

  /**
   * Removes the first enabled rule whose OS line is `text`, or else whose v2 text is (the official
   * Python SDK reads rules through v2 and deletes them through v1 with the v2 text).
   */
  v1Remove(text: string): { rule: FirewallRule; position: number } | undefined {
    const enabled = this.rules.filter((r) => !r.disabled);
    let position = enabled.findIndex((r) => osRuleText(r) === text);
    if (position < 0) position = enabled.findIndex((r) => r.rule === text);
    const target = enabled[position];
    if (!target) return undefined;
    this.remove(target.id);
    return { rule: target, position };
  }
}
