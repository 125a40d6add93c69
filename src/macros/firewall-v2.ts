/**
 * The wire side of firewall policies on both APIs: reading the rules and applying a plan. v1 goes
 * by position (`/firewall/rules`), v2 by id (`/v2/firewall/rules`), so a v2 delete or update can
 * never hit the wrong rule even if the list moved since it was read.
 */
import type { Vns3Client } from '../client/index.js';
import { type CurrentRule, type DesiredRule, type FirewallPlan, normalizeRule } from './firewall-plan.js';

/** The firewall API a plan is written for. */
export type FirewallApi = 'v1' | 'v2';

/** v1: the rule texts in position order. */
async function readV1(client: Vns3Client, signal?: AbortSignal): Promise<CurrentRule[]> {
  const list = await client.get('/firewall/rules', { signal });
  return list
    .map((entry, index) => ({ rule: String(entry[0] ?? ''), position: Number(entry[1] ?? index) }))
    .sort((x, y) => x.position - y.position)
    .map((e, index) => ({ id: String(index), rule: normalizeRule(e.rule), comment: '', groups: [], disabled: false }));
}

/** v2: every rule (disabled ones too) in position order, with its id and fields. */
async function readV2(client: Vns3Client, signal?: AbortSignal): Promise<CurrentRule[]> {
  const list = await client.get('/v2/firewall/rules', { signal });
  return [...list]
    .sort((x, y) => x.position - y.position)
    .map((r) => ({ id: r.id, rule: normalizeRule(r.rule), comment: r.comment ?? '', groups: [...(r.groups ?? [])], disabled: r.disabled === true }));
}

/** The controller's rules through one API; rejects with the client's error. */
export function readFirewall(client: Vns3Client, api: FirewallApi, signal?: AbortSignal): Promise<CurrentRule[]> {
  return api === 'v2' ? readV2(client, signal) : readV1(client, signal);
}

/**
 * Writes a plan in its order (deletes, updates, inserts); `onWrite` after each write. Stops at the
 * first failure with the client's error (the caller re-reads: no write is ever re-sent blindly).
 */
export async function applyFirewallPlan(client: Vns3Client, plan: Omit<FirewallPlan, 'dryRun'>, signal?: AbortSignal, onWrite?: () => void): Promise<void> {
  for (const d of plan.deletes) {
    if (plan.api === 'v2') await client.delete('/v2/firewall/rules/{id}', { params: { path: { id: d.id! } }, signal });
    else await client.delete('/firewall/rules/{position}', { params: { path: { position: d.position } }, signal });
    onWrite?.();
  }
  for (const u of plan.updates) {
    await client.put('/v2/firewall/rules/{id}', { params: { path: { id: u.id } }, body: u.changes, signal });
    onWrite?.();
  }
  for (const ins of plan.inserts) {
    if (plan.api === 'v2') {
      const body = { rule: ins.rule, position: ins.position, comment: ins.comment, groups: ins.groups, disabled: ins.disabled };
      await client.post('/v2/firewall/rules', { body, signal });
    } else {
      await client.post('/firewall/rules', { body: { rule: ins.rule, position: ins.position }, signal });
    }
    onWrite?.();
  }
}

/** Whether the rules read match the desired ones, fields included; -1 when they do, else the first position that differs. */
export function firstMismatch(current: readonly CurrentRule[], desired: readonly DesiredRule[], api: FirewallApi): number {
  const n = Math.max(current.length, desired.length);
  for (let i = 0; i < n; i++) {
    const c = current[i];
    const d = desired[i];
    if (!c || !d || c.rule !== d.rule) return i;
    if (api === 'v1') continue;
    if ((d.disabled ?? false) !== c.disabled) return i;
    if (d.comment !== undefined && d.comment !== c.comment) return i;
    if (d.groups !== undefined && [...d.groups].sort().join('\n') !== [...c.groups].sort().join('\n')) return i;
  }
  return -1;
}
