/**
 * Firewall (v1) policy: make a controller's positional rule list exactly the
 * desired list with as few writes as possible. The Python `assert_rule_policy`
 * walks both lists and inserts or deletes at the first difference; we keep
 * the longest common subsequence of the current and desired lists and touch
 * only the rest, so reordering one rule costs two writes, not a rewrite.
 */
import { isOutcomeUnknown, Vns3Error, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { readThenWrite } from './core/read-then-write.js';
import { StateCache } from './core/state.js';
import { controllerVariables, substitute, type TemplateVariables } from './core/template.js';
import type { BulkMacroOptions, BulkResult, MacroOptions } from './core/types.js';
import { checkClients, checkFlags, hasControl } from './core/validate.js';
import { converge, transientCause } from './core/reconcile.js';

/** One positional write of a firewall plan. */
export interface FirewallEdit {
  /** Zero-based position at the moment the edit is applied (edits run in the order given). */
  position: number;
  rule: string;
}

/** What `ensureFirewallPolicy` did (or, with `dryRun`, would do) on the controller. */
export interface FirewallPlan {
  /** Deletions, highest position first. */
  deletes: FirewallEdit[];
  /** Insertions after the deletions, in ascending target position. */
  inserts: FirewallEdit[];
  /** Rules kept where they are. */
  unchanged: number;
  /** The rules as they were read. */
  current: string[];
  /** The rules as they must end (variables substituted, whitespace normalised). */
  desired: string[];
  /** True when nothing was written because of `dryRun`. */
  dryRun: boolean;
}

/** How `ensureFirewallPolicy` reconciles. */
export interface EnsureFirewallPolicyOptions extends MacroOptions {
  /** Extra template variables; they win over the controller's (see `stateVariables`). */
  variables?: TemplateVariables;
  /** Return the plan without writing. */
  dryRun?: boolean;
  cache?: StateCache;
  /**
   * How many times to re-read and re-plan after a write whose outcome is unknown (connection
   * lost, timeout); default 3. Position-based writes are never blindly re-sent.
   */
  maxRounds?: number;
}

/** Rules compare after trimming and collapsing whitespace, as the controller stores them. */
export const normalizeRule = (rule: string): string => rule.trim().replace(/\s+/g, ' ');

/** Indices (into a and b) of one longest common subsequence, in ascending order. */
function lcsPairs(a: readonly string[], b: readonly string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  // len[i][j] = LCS length of a[i..] and b[j..]
  const len = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      len[i]![j] = a[i] === b[j] ? len[i + 1]![j + 1]! + 1 : Math.max(len[i + 1]![j]!, len[i]![j + 1]!);
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      pairs.push([i, j]);
      i++;
      j++;
    } else if (len[i + 1]![j]! >= len[i]![j + 1]!) i++;
    else j++;
  }
  return pairs;
}

/**
 * The minimal plan from `current` to `desired`: delete what is outside the common subsequence
 * from the highest position down (so earlier positions stay valid), then insert the missing
 * rules at their target positions in ascending order (each lands after everything before it).
 */
export function planFirewall(current: readonly string[], desired: readonly string[]): Omit<FirewallPlan, 'dryRun'> {
  const pairs = lcsPairs(current, desired);
  const keptCurrent = new Set(pairs.map(([i]) => i));
  const keptDesired = new Set(pairs.map(([, j]) => j));
  const deletes: FirewallEdit[] = [];
  for (let i = current.length - 1; i >= 0; i--) if (!keptCurrent.has(i)) deletes.push({ position: i, rule: current[i]! });
  const inserts: FirewallEdit[] = [];
  desired.forEach((rule, j) => {
    if (!keptDesired.has(j)) inserts.push({ position: j, rule });
  });
  return { deletes, inserts, unchanged: pairs.length, current: [...current], desired: [...desired] };
}

async function readRules(client: Vns3Client, signal?: AbortSignal): Promise<string[]> {
  const list = await client.get('/firewall/rules', { signal });
  return list
    .map((entry, index) => ({ rule: String(entry[0] ?? ''), position: Number(entry[1] ?? index) }))
    .sort((x, y) => x.position - y.position)
    .map((e) => normalizeRule(e.rule));
}


/** The VNS3 chains a v1 rule may name first. */
export const FIREWALL_CHAINS = ['INPUT_CUST', 'OUTPUT_CUST', 'FORWARD_CUST', 'FORWARD_CUST_PRE', 'PREROUTING_CUST', 'POSTROUTING_CUST', 'MACRO_CUST'] as const;

/**
 * One rule: a single line (a line break would be normalised into a different rule, or split it in
 * two on the controller) that starts with a known chain. `{variables}` may still stand in it.
 */
function checkRule(field: string, rule: string, controller: string): string {
  if (hasControl(rule, true)) throw new Vns3ValidationError(field, rule, 'must be a single line without control characters', { controller });
  const chain = normalizeRule(rule).split(' ')[0] ?? '';
  if (chain === '') throw new Vns3ValidationError(field, rule, 'is empty', { controller });
  if (!(FIREWALL_CHAINS as readonly string[]).includes(chain) && !chain.includes('{')) {
    throw new Vns3ValidationError(field, rule, `must start with a VNS3 chain (${FIREWALL_CHAINS.join(', ')})`, { controller });
  }
  return rule;
}

/** Substitutes and normalises the desired rules; any problem is a Vns3ValidationError before a write. */
async function resolveRules(client: Vns3Client, rules: readonly string[], options: EnsureFirewallPolicyOptions): Promise<string[]> {
  const host = client.host;
  if (!Array.isArray(rules)) throw new Vns3ValidationError('rules', rules, 'must be an array of rule strings', { controller: host });
  rules.forEach((r, i) => {
    if (typeof r !== 'string') throw new Vns3ValidationError(`rules[${i}]`, r, 'must be a string', { controller: host });
  });
  rules.forEach((r, i) => checkRule(`rules[${i}]`, r, host));
  const usesVars = rules.some((r) => r.includes('{'));
  const vars = usesVars ? await controllerVariables(client, options) : {};
  // Every rule of the policy is checked, after substitution too, before the first delete.
  return rules.map((r, i) => normalizeRule(checkRule(`rules[${i}]`, substitute(r, vars, { field: `rules[${i}]`, controller: host }), host)));
}

/**
 * Makes the controller's firewall exactly `rules` (in order), after `{variable}` substitution.
 * Returns the plan of the first round (what was, or with `dryRun` would be, written). Throws
 * Vns3ValidationError for a bad rule or an unknown `{variable}` before any write; a Vns3Error when,
 * after writing, the re-read list differs from the desired one; the client's error when a request
 * fails (after `maxRounds` re-reads for writes whose outcome is unknown).
 */
export function ensureFirewallPolicy(client: Vns3Client, rules: readonly string[], options?: EnsureFirewallPolicyOptions): Promise<FirewallPlan>;
/**
 * The same policy (its `{variables}` filled in per controller) on many controllers: reads every
 * controller first, so that a bad rule or template fails before any write (Vns3ValidationError),
 * then makes each firewall match in parallel. Controllers that cannot be read or written are in
 * `failed`.
 */
export function ensureFirewallPolicy(
  clients: readonly Vns3Client[],
  rules: readonly string[],
  options?: EnsureFirewallPolicyOptions & BulkMacroOptions,
): Promise<BulkResult<FirewallPlan>>;
export async function ensureFirewallPolicy(
  target: Vns3Client | readonly Vns3Client[],
  rules: readonly string[],
  options: EnsureFirewallPolicyOptions & BulkMacroOptions = {},
): Promise<FirewallPlan | BulkResult<FirewallPlan>> {
  const maxRounds = options.maxRounds ?? 3;
  if (!Number.isInteger(maxRounds) || maxRounds < 1) throw new Vns3ValidationError('maxRounds', maxRounds, 'must be a whole number of at least 1');
  checkFlags(options, ['dryRun']);
  if (!Array.isArray(target)) {
    const client = target as Vns3Client;
    const desired = await resolveRules(client, rules, options);
    return converge(client.host, 'firewall.policy', ({ progress }) => enforcePolicy(client, desired, { ...options, onWrite: progress }, maxRounds), options);
  }
  checkClients(target);
  // The policy's shape is checked once, with no controller, before any read.
  if (!Array.isArray(rules)) throw new Vns3ValidationError('rules', rules, 'must be an array of rule strings');
  rules.forEach((r, i) => {
    if (typeof r !== 'string') throw new Vns3ValidationError(`rules[${i}]`, r, 'must be a string');
  });
  const cache = options.cache ?? new StateCache();
  return readThenWrite(
    target,
    {
      read: async (client, { signal }) => ({
        desired: await resolveRules(client, rules, { ...options, cache, signal }),
        current: await readRules(client, signal),
      }),
      plan: (readings) => {
        const invalid = readings.find((r) => r.error instanceof Vns3ValidationError);
        if (invalid) throw invalid.error;
        return readings.map((r) => r.value?.desired ?? new Error('not read'));
      },
      write: (client, desired, { signal, reading, progress }) => enforcePolicy(client, desired, { ...options, signal, onWrite: progress }, maxRounds, reading.current),
    },
    { ...options, readStep: 'firewall.read', writeStep: 'firewall.policy' },
  );
}

/**
 * Plans from the current list (`seen` for the first round, when already read), writes, and
 * verifies; a write whose outcome is unknown starts another round, up to `maxRounds`.
 */
async function enforcePolicy(client: Vns3Client, desired: string[], options: EnsureFirewallPolicyOptions & { onWrite?: () => void }, maxRounds: number, seen?: string[]): Promise<FirewallPlan> {
  const { signal, onEvent } = options;
  const host = client.host;
  let first: FirewallPlan | undefined;
  for (let round = 1; ; round++) {
    const current = round === 1 && seen ? seen : await readRules(client, signal);
    const plan: FirewallPlan = { ...planFirewall(current, desired), dryRun: options.dryRun === true };
    first ??= plan;
    const writes = plan.deletes.length + plan.inserts.length;
    if (writes === 0) {
      if (round > 1) emit(onEvent, { controller: host, step: 'firewall.verify', detail: `firewall matches the policy after ${round - 1} round(s)` });
      else emit(onEvent, { controller: host, step: 'firewall.plan', detail: `firewall already matches the policy (${desired.length} rules)` });
      return first;
    }
    emit(onEvent, {
      controller: host,
      step: 'firewall.plan',
      detail: `${plan.deletes.length} to delete, ${plan.inserts.length} to insert, ${plan.unchanged} kept${plan.dryRun ? ' (dry run)' : ''}`,
      data: { deletes: plan.deletes.length, inserts: plan.inserts.length, unchanged: plan.unchanged, round },
    });
    if (plan.dryRun) return plan;

    let interrupted = false;
    try {
      await applyEdits(client, plan, signal, options.onWrite);
    } catch (err) {
      // Refused outright (not a transient failure): put back the rules this plan deleted, so none is lost.
      if (transientCause(err) === undefined && !signal?.aborted) throw await rollBack(client, current, err, options);
      // Whether a positional write happened is unknown: re-read and plan again instead of re-sending.
      if (!isOutcomeUnknown(err) || round >= maxRounds) throw err;
      interrupted = true;
      emit(onEvent, { controller: host, step: 'firewall.apply', level: 'warn', detail: `write outcome unknown (${(err as Error).message}); re-reading` });
    }
    if (interrupted) continue;

    const after = await readRules(client, signal);
    const differsAt = firstDifference(after, desired);
    if (differsAt >= 0) {
      // Someone else changed the list meanwhile, or the controller rewrote a rule: report, do not fight.
      throw new Vns3Error(
        `firewall on ${host} does not match the policy after applying ${writes} change(s): expected ${desired.length} rules, found ${after.length}, first difference at position ${differsAt}`,
        { controller: host },
      );
    }
    emit(onEvent, { controller: host, step: 'firewall.apply', detail: `applied ${writes} change(s); firewall verified` });
    return first;
  }
}

async function applyEdits(client: Vns3Client, plan: Omit<FirewallPlan, 'dryRun'>, signal?: AbortSignal, onWrite?: () => void): Promise<void> {
  for (const d of plan.deletes) {
    await client.delete('/firewall/rules/{position}', { params: { path: { position: d.position } }, signal });
    onWrite?.();
  }
  for (const ins of plan.inserts) {
    await client.post('/firewall/rules', { body: { rule: ins.rule, position: ins.position }, signal });
    onWrite?.();
  }
}

/**
 * After the controller refused a write mid-plan: re-reads and writes the list back to what it was
 * before the plan, so that no rule is lost. Returns the error to throw: the refusal, saying whether
 * the firewall was restored.
 */
async function rollBack(client: Vns3Client, before: string[], refusal: unknown, options: EnsureFirewallPolicyOptions): Promise<Vns3Error> {
  const { signal, onEvent } = options;
  const host = client.host;
  const reason = refusal instanceof Error ? refusal.message : String(refusal);
  try {
    await converge(host, 'firewall.rollback', async () => applyEdits(client, planFirewall(await readRules(client, signal), before), signal), options);
    emit(onEvent, { controller: host, step: 'firewall.rollback', level: 'warn', detail: `write refused; firewall restored to its ${before.length} previous rules` });
    return new Vns3Error(`firewall on ${host} refused a write (${reason}); the policy was not applied and the ${before.length} previous rules were restored`, { controller: host, cause: refusal });
  } catch (restoreError) {
    const why = restoreError instanceof Error ? restoreError.message : String(restoreError);
    return new Vns3Error(`firewall on ${host} refused a write (${reason}) and restoring the ${before.length} previous rules failed too (${why}); re-run to converge`, { controller: host, cause: refusal });
  }
}

/** Index of the first position where the lists differ, or -1 when they are equal. */
function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}
