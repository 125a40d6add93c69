/**
 * Firewall plans: the smallest set of writes that turns the rules a controller has into the
 * desired ones. On v1 positions are all a rule has, so the longest common subsequence of rule
 * texts stays and every other rule is a delete or an insert. On v2 a rule has an id and can be
 * updated in place (text, comment, groups, state), so the plan is an edit-distance alignment: a
 * changed rule costs one write instead of two, and its id (and what refers to it) survives.
 */

/** One write of a plan: a delete (current position) or an insert (position at the moment it runs). */
export interface FirewallEdit {
  /** Zero-based position (edits run in the order given: deletes, updates, inserts). */
  position: number;
  rule: string;
  /** v2: the id of the rule deleted. */
  id?: string;
  /** v2 inserts: the rule's fields. */
  comment?: string;
  groups?: string[];
  disabled?: boolean;
}

/** The fields a v2 update changes. */
export interface FirewallRuleChanges {
  rule?: string;
  comment?: string;
  groups?: string[];
  disabled?: boolean;
}

/** A v2 rule changed in place: it keeps its id and its place. */
export interface FirewallUpdate {
  id: string;
  /** Where the rule ends up. */
  position: number;
  /** Its text after the update. */
  rule: string;
  changes: FirewallRuleChanges;
}

/**
 * A rule of a policy. A string is the rule's text. On v2 an object may also say its comment, its
 * groups and whether it is disabled; a field left out is left as the controller has it, except
 * `disabled`, which defaults to false (a policy's rules are meant to be enforced).
 */
export type FirewallRuleSpec = string | { rule: string; comment?: string; groups?: readonly string[]; disabled?: boolean };

/** A desired rule, normalised. */
export interface DesiredRule {
  rule: string;
  comment?: string;
  groups?: string[];
  disabled?: boolean;
}

/** A rule as a v2 controller reports it (the fields a plan compares). */
export interface CurrentRule {
  id: string;
  rule: string;
  comment: string;
  groups: string[];
  disabled: boolean;
}

/** What `ensureFirewallPolicy` did (or, with `dryRun`, would do) on the controller. */
export interface FirewallPlan {
  /** The API the plan is written for (chosen by the controller's version unless `api` says). */
  api: 'v1' | 'v2';
  /** Deletions, highest position first. */
  deletes: FirewallEdit[];
  /** v2 only: rules changed in place (always empty on v1). */
  updates: FirewallUpdate[];
  /** Insertions after the deletions (and updates), in ascending target position. */
  inserts: FirewallEdit[];
  /** Rules kept as they are. */
  unchanged: number;
  /** The rule texts as they were read. */
  current: string[];
  /** The rule texts as they must end (variables substituted, whitespace normalised). */
  desired: string[];
  /** True when nothing was written because of `dryRun`. */
  dryRun: boolean;
}

/** Rules compare after trimming and collapsing whitespace, as the controller stores them. */
export const normalizeRule = (rule: string): string => rule.trim().replace(/\s+/g, ' ');

/** Indices (into a and b) of one longest common subsequence, in ascending order. */
export function lcsPairs(a: readonly string[], b: readonly string[]): [number, number][] {
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
 * The minimal v1 plan from `current` to `desired`: delete what is outside the common subsequence
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
  return { api: 'v1', deletes, updates: [], inserts, unchanged: pairs.length, current: [...current], desired: [...desired] };
}

const sameGroups = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** What must change for `current` to be `want` (empty when nothing). */
export function ruleChanges(current: CurrentRule, want: DesiredRule): FirewallRuleChanges {
  const changes: FirewallRuleChanges = {};
  if (current.rule !== want.rule) changes.rule = want.rule;
  if (want.comment !== undefined && current.comment !== want.comment) changes.comment = want.comment;
  if (want.groups !== undefined && !sameGroups(current.groups, want.groups)) changes.groups = [...want.groups];
  if ((want.disabled ?? false) !== current.disabled) changes.disabled = want.disabled ?? false;
  return changes;
}

/**
 * The minimal v2 plan: an edit-distance alignment of the current and desired lists in which
 * keeping a rule costs nothing (or one update when a field differs), and changing one rule into
 * another, deleting or inserting one each cost one write. Among plans with as few writes, rules
 * keep their text (and so their id) where they can. Deletes and updates go by id, so only the inserts' positions matter: after the
 * deletes, the list holds the kept and updated rules in desired order, and inserting each missing
 * rule at its target position, ascending, lands it in place.
 */
export function planFirewallV2(current: readonly CurrentRule[], desired: readonly DesiredRule[]): Omit<FirewallPlan, 'dryRun'> {
  const n = current.length;
  const m = desired.length;
  // Costs count writes (WRITE each); among plans with as few writes, the one that rewrites the
  // fewest rule texts wins (+1 each), so a rule keeps its id rather than becoming another rule.
  const WRITE = 1000;
  const pairCost = (i: number, j: number): number => {
    const changes = ruleChanges(current[i]!, desired[j]!);
    if (Object.keys(changes).length === 0) return 0;
    return changes.rule === undefined ? WRITE : WRITE + 1;
  };
  // cost[i][j] = cost of turning current[i..] into desired[j..]
  const cost = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      if (i === n) cost[i]![j] = (m - j) * WRITE;
      else if (j === m) cost[i]![j] = (n - i) * WRITE;
      else cost[i]![j] = Math.min(pairCost(i, j) + cost[i + 1]![j + 1]!, WRITE + cost[i + 1]![j]!, WRITE + cost[i]![j + 1]!);
    }
  }
  const deletes: FirewallEdit[] = [];
  const updates: FirewallUpdate[] = [];
  const inserts: FirewallEdit[] = [];
  let unchanged = 0;
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && cost[i]![j] === pairCost(i, j) + cost[i + 1]![j + 1]!) {
      const changes = ruleChanges(current[i]!, desired[j]!);
      if (Object.keys(changes).length === 0) unchanged++;
      else updates.push({ id: current[i]!.id, position: j, rule: desired[j]!.rule, changes });
      i++;
      j++;
    } else if (i < n && (j === m || cost[i]![j] === WRITE + cost[i + 1]![j]!)) {
      deletes.push({ position: i, rule: current[i]!.rule, id: current[i]!.id });
      i++;
    } else {
      const want = desired[j]!;
      inserts.push({ position: j, rule: want.rule, comment: want.comment, groups: want.groups ? [...want.groups] : undefined, disabled: want.disabled });
      j++;
    }
  }
  deletes.sort((a, b) => b.position - a.position);
  return { api: 'v2', deletes, updates, inserts, unchanged, current: current.map((r) => r.rule), desired: desired.map((r) => r.rule) };
}

