/**
 * Firewall policy: make a controller's rule list exactly the desired list with as few writes as
 * possible, on the v1 API (positional rules) or the v2 API of VNS3 6.x (rules with ids, comments,
 * groups), chosen by the controller's version unless `api` says. The Python `assert_rule_policy`
 * walks both lists and inserts or deletes at the first difference (and its 6.x variant mixes v2
 * reads with v1 deletes); we keep what matches and touch only the rest (see firewall-plan.ts):
 * moving one v1 rule costs two writes, not a rewrite, and changing one v2 rule costs one.
 */
import { isOutcomeUnknown, Vns3Error, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { readThenWrite } from './core/read-then-write.js';
import { StateCache } from './core/state.js';
import { controllerVariables, substitute, type TemplateVariables } from './core/template.js';
import type { BulkMacroOptions, BulkResult, MacroOptions } from './core/types.js';
import { checkClients, checkFlags, hasControl } from './core/validate.js';
import { converge, transientCause } from './core/reconcile.js';
import { type CurrentRule, type DesiredRule, type FirewallPlan, type FirewallRuleSpec, normalizeRule, planFirewall, planFirewallV2 } from './firewall-plan.js';
import { applyFirewallPlan, type FirewallApi, firstMismatch, readFirewall } from './firewall-v2.js';

export { normalizeRule, planFirewall, planFirewallV2, type FirewallEdit, type FirewallPlan, type FirewallRuleChanges, type FirewallRuleSpec, type FirewallUpdate } from './firewall-plan.js';
export type { FirewallApi } from './firewall-v2.js';

/** How `ensureFirewallPolicy` reconciles. */
export interface EnsureFirewallPolicyOptions extends MacroOptions {
  /**
   * `v1`, `v2`, or `auto` (the default): v2 on a controller reporting VNS3 6 or later in
   * `GET /config`, v1 before. The version is read once per controller and cache.
   */
  api?: FirewallApi | 'auto';
  /** Extra template variables; they win over the controller's (see `stateVariables`). */
  variables?: TemplateVariables;
  /** Return the plan without writing. */
  dryRun?: boolean;
  /** Shares the controller state (version, addresses) between macros of one run. */
  cache?: StateCache;
  /**
   * How many times to re-read and re-plan after a write whose outcome is unknown (connection
   * lost, timeout); default 3. Writes are never blindly re-sent.
   */
  maxRounds?: number;
}

/** The VNS3 chains a v1 rule may name first. */
export const FIREWALL_CHAINS = ['INPUT_CUST', 'OUTPUT_CUST', 'FORWARD_CUST', 'FORWARD_CUST_PRE', 'PREROUTING_CUST', 'POSTROUTING_CUST', 'MACRO_CUST'] as const;
/** The chains a v2 rule names first (a 6.x controller also shows rules written through v1 on the chains above). */
export const FIREWALL_V2_CHAINS = ['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING'] as const;

const GROUP = /^[^\s,]{1,64}$/;

/**
 * One rule's text: a single line (a line break would be normalised into a different rule, or split
 * it in two on the controller) that starts with a chain of the API. `{variables}` may still stand in it.
 */
function checkRuleText(field: string, rule: string, api: FirewallApi, controller: string): string {
  if (hasControl(rule, true)) throw new Vns3ValidationError(field, rule, 'must be a single line without control characters', { controller });
  const chain = normalizeRule(rule).split(' ')[0] ?? '';
  if (chain === '') throw new Vns3ValidationError(field, rule, 'is empty', { controller });
  const chains: readonly string[] = api === 'v2' ? [...FIREWALL_V2_CHAINS, ...FIREWALL_CHAINS] : FIREWALL_CHAINS;
  if (!chains.includes(chain) && !chain.includes('{')) {
    throw new Vns3ValidationError(field, rule, `must start with a VNS3 chain${api === 'v2' ? ' of the v2 API' : ''} (${chains.join(', ')})`, { controller });
  }
  return rule;
}

/** The shape of a policy, checked before anything is read: strings or `{rule, comment?, groups?, disabled?}`. */
function checkShapes(rules: unknown, controller?: string): void {
  if (!Array.isArray(rules)) throw new Vns3ValidationError('rules', rules, 'must be an array of rules (strings or {rule, comment?, groups?, disabled?})', { controller });
  rules.forEach((r: unknown, i) => {
    if (typeof r === 'string') return;
    const spec = r as Record<string, unknown> | null;
    if (spec === null || typeof spec !== 'object' || typeof spec.rule !== 'string') throw new Vns3ValidationError(`rules[${i}]`, r, 'must be a string or an object with a string `rule`', { controller });
    if (spec.comment !== undefined && (typeof spec.comment !== 'string' || hasControl(spec.comment, true))) throw new Vns3ValidationError(`rules[${i}].comment`, spec.comment, 'must be a single line of text', { controller });
    if (spec.disabled !== undefined && typeof spec.disabled !== 'boolean') throw new Vns3ValidationError(`rules[${i}].disabled`, spec.disabled, 'must be a boolean', { controller });
    if (spec.groups !== undefined && (!Array.isArray(spec.groups) || !spec.groups.every((g) => typeof g === 'string' && GROUP.test(g)))) {
      throw new Vns3ValidationError(`rules[${i}].groups`, spec.groups, 'must be a list of group names (no spaces or commas, at most 64 characters)', { controller });
    }
  });
}

/** v1 rules have no comment, groups or state: a policy that sets them needs v2. */
function checkV1Fields(rules: readonly FirewallRuleSpec[], controller: string): void {
  rules.forEach((r, i) => {
    if (typeof r === 'string') return;
    for (const field of ['comment', 'groups', 'disabled'] as const) {
      if (r[field] !== undefined) throw new Vns3ValidationError(`rules[${i}].${field}`, r[field], 'needs the v2 firewall API (VNS3 6.x); this controller is driven through v1', { controller });
    }
  });
}

/** The API to use: the caller's, or by the controller's major version. */
async function chooseApi(client: Vns3Client, options: EnsureFirewallPolicyOptions & { cache: StateCache }): Promise<FirewallApi> {
  const api = options.api ?? 'auto';
  if (api === 'v1' || api === 'v2') return api;
  const state = await options.cache.get(client, { signal: options.signal });
  const major = Number.parseInt(state.vns3Version, 10);
  return Number.isFinite(major) && major >= 6 ? 'v2' : 'v1';
}

/** The API and the desired rules (substituted, normalised, checked); any problem is a Vns3ValidationError before a write. */
async function resolvePolicy(client: Vns3Client, rules: readonly FirewallRuleSpec[], options: EnsureFirewallPolicyOptions & { cache: StateCache }): Promise<{ api: FirewallApi; desired: DesiredRule[] }> {
  const host = client.host;
  checkShapes(rules, host);
  const api = await chooseApi(client, options);
  if (api === 'v1') checkV1Fields(rules, host);
  const specs = rules.map((r) => (typeof r === 'string' ? { rule: r } : r));
  specs.forEach((s, i) => checkRuleText(`rules[${i}]`, s.rule, api, host));
  const vars = specs.some((s) => s.rule.includes('{')) ? await controllerVariables(client, options) : {};
  // Every rule of the policy is checked, after substitution too, before the first write.
  const desired = specs.map((s, i) => {
    const rule = normalizeRule(checkRuleText(`rules[${i}]`, substitute(s.rule, vars, { field: `rules[${i}]`, controller: host }), api, host));
    return { rule, comment: s.comment, groups: s.groups ? [...new Set(s.groups)] : undefined, disabled: s.disabled };
  });
  return { api, desired };
}

/**
 * Makes the controller's firewall exactly `rules` (in order), after `{variable}` substitution, on
 * the v1 or v2 API (`options.api`, by default chosen by the controller's version). Returns the
 * plan of the first round (what was, or with `dryRun` would be, written). Throws
 * Vns3ValidationError for a bad rule, an unknown `{variable}` or v2 fields on a v1 controller
 * before any write; a Vns3Error when, after writing, the re-read list differs from the desired
 * one, or when the controller refused a write (after putting back the rules as they were); the
 * client's error when a request fails (after `maxRounds` re-reads for writes whose outcome is unknown).
 */
export function ensureFirewallPolicy(client: Vns3Client, rules: readonly FirewallRuleSpec[], options?: EnsureFirewallPolicyOptions): Promise<FirewallPlan>;
/**
 * The same policy (its `{variables}` filled in per controller, its API chosen per controller) on
 * many controllers: reads every controller first, so that a bad rule or template fails before any
 * write (Vns3ValidationError), then makes each firewall match in parallel. Controllers that cannot
 * be read or written are in `failed`.
 */
export function ensureFirewallPolicy(
  clients: readonly Vns3Client[],
  rules: readonly FirewallRuleSpec[],
  options?: EnsureFirewallPolicyOptions & BulkMacroOptions,
): Promise<BulkResult<FirewallPlan>>;
export async function ensureFirewallPolicy(
  target: Vns3Client | readonly Vns3Client[],
  rules: readonly FirewallRuleSpec[],
  options: EnsureFirewallPolicyOptions & BulkMacroOptions = {},
): Promise<FirewallPlan | BulkResult<FirewallPlan>> {
  const maxRounds = options.maxRounds ?? 3;
  if (!Number.isInteger(maxRounds) || maxRounds < 1) throw new Vns3ValidationError('maxRounds', maxRounds, 'must be a whole number of at least 1');
  checkFlags(options, ['dryRun']);
  if (options.api !== undefined && !['v1', 'v2', 'auto'].includes(options.api)) throw new Vns3ValidationError('api', options.api, "must be 'v1', 'v2' or 'auto'");
  const cache = options.cache ?? new StateCache();
  if (!Array.isArray(target)) {
    const client = target as Vns3Client;
    const { api, desired } = await resolvePolicy(client, rules, { ...options, cache });
    return converge(client.host, 'firewall.policy', ({ progress }) => enforcePolicy(client, api, desired, { ...options, onWrite: progress }, maxRounds), options);
  }
  checkClients(target);
  // The policy's shape is checked once, with no controller, before any read.
  checkShapes(rules);
  return readThenWrite(
    target,
    {
      read: async (client, { signal }) => {
        const policy = await resolvePolicy(client, rules, { ...options, cache, signal });
        return { ...policy, current: await readFirewall(client, policy.api, signal) };
      },
      plan: (readings) => {
        const invalid = readings.find((r) => r.error instanceof Vns3ValidationError);
        if (invalid) throw invalid.error;
        return readings.map((r) => r.value ?? new Error('not read'));
      },
      write: (client, policy, { signal, reading, progress }) =>
        enforcePolicy(client, policy.api, policy.desired, { ...options, signal, onWrite: progress }, maxRounds, reading.current),
    },
    { ...options, readStep: 'firewall.read', writeStep: 'firewall.policy' },
  );
}

const planFor = (api: FirewallApi, current: CurrentRule[], desired: DesiredRule[]): Omit<FirewallPlan, 'dryRun'> =>
  api === 'v2' ? planFirewallV2(current, desired) : planFirewall(current.map((r) => r.rule), desired.map((r) => r.rule));

/**
 * Plans from the current list (`seen` for the first round, when already read), writes, and
 * verifies; a write whose outcome is unknown starts another round, up to `maxRounds`.
 */
async function enforcePolicy(
  client: Vns3Client,
  api: FirewallApi,
  desired: DesiredRule[],
  options: EnsureFirewallPolicyOptions & { onWrite?: () => void },
  maxRounds: number,
  seen?: CurrentRule[],
): Promise<FirewallPlan> {
  const { signal, onEvent } = options;
  const host = client.host;
  let first: FirewallPlan | undefined;
  for (let round = 1; ; round++) {
    const current = round === 1 && seen ? seen : await readFirewall(client, api, signal);
    const plan: FirewallPlan = { ...planFor(api, current, desired), dryRun: options.dryRun === true };
    first ??= plan;
    const writes = plan.deletes.length + plan.updates.length + plan.inserts.length;
    if (writes === 0) {
      if (round > 1) emit(onEvent, { controller: host, step: 'firewall.verify', detail: `firewall matches the policy after ${round - 1} round(s)` });
      else emit(onEvent, { controller: host, step: 'firewall.plan', detail: `firewall already matches the policy (${desired.length} rules, ${api})` });
      return first;
    }
    const updated = api === 'v2' ? `${plan.updates.length} to update, ` : '';
    emit(onEvent, {
      controller: host,
      step: 'firewall.plan',
      detail: `${plan.deletes.length} to delete, ${updated}${plan.inserts.length} to insert, ${plan.unchanged} kept (${api})${plan.dryRun ? ' (dry run)' : ''}`,
      data: { api, deletes: plan.deletes.length, updates: plan.updates.length, inserts: plan.inserts.length, unchanged: plan.unchanged, round },
    });
    if (plan.dryRun) return plan;

    let interrupted = false;
    try {
      await applyFirewallPlan(client, plan, signal, options.onWrite);
    } catch (err) {
      // Refused outright (not a transient failure): put back the rules as they were, so none is lost.
      if (transientCause(err) === undefined && !signal?.aborted) throw await rollBack(client, api, current, err, options);
      // Whether the write happened is unknown: re-read and plan again instead of re-sending.
      if (!isOutcomeUnknown(err) || round >= maxRounds) throw err;
      interrupted = true;
      emit(onEvent, { controller: host, step: 'firewall.apply', level: 'warn', detail: `write outcome unknown (${(err as Error).message}); re-reading` });
    }
    if (interrupted) continue;

    const differsAt = firstMismatch(await readFirewall(client, api, signal), desired, api);
    if (differsAt >= 0) {
      // Someone else changed the list meanwhile, or the controller rewrote a rule: report, do not fight.
      throw new Vns3Error(`firewall on ${host} does not match the policy after applying ${writes} change(s): expected ${desired.length} rules, first difference at position ${differsAt}`, {
        controller: host,
      });
    }
    emit(onEvent, { controller: host, step: 'firewall.apply', detail: `applied ${writes} change(s); firewall verified` });
    return first;
  }
}

/**
 * After the controller refused a write mid-plan: re-reads and writes the list back to what it was
 * before the plan (on v2 with comments, groups and state; a re-created rule gets a new id), so that
 * no rule is lost. Returns the error to throw: the refusal, saying whether the firewall was restored.
 */
async function rollBack(client: Vns3Client, api: FirewallApi, before: CurrentRule[], refusal: unknown, options: EnsureFirewallPolicyOptions): Promise<Vns3Error> {
  const { signal, onEvent } = options;
  const host = client.host;
  const reason = refusal instanceof Error ? refusal.message : String(refusal);
  const previous: DesiredRule[] = before.map((r) => ({ rule: r.rule, comment: r.comment, groups: r.groups, disabled: r.disabled }));
  try {
    await converge(host, 'firewall.rollback', async () => applyFirewallPlan(client, planFor(api, await readFirewall(client, api, signal), previous), signal), options);
    emit(onEvent, { controller: host, step: 'firewall.rollback', level: 'warn', detail: `write refused; firewall restored to its ${before.length} previous rules` });
    return new Vns3Error(`firewall on ${host} refused a write (${reason}); the policy was not applied and the ${before.length} previous rules were restored`, { controller: host, cause: refusal });
  } catch (restoreError) {
    const why = restoreError instanceof Error ? restoreError.message : String(restoreError);
    return new Vns3Error(`firewall on ${host} refused a write (${reason}) and restoring the ${before.length} previous rules failed too (${why}); re-run to converge`, { controller: host, cause: refusal });
  }
}
