/**
 * Overlay client groups: split a topology's clientpacks into groups and tag each clientpack with
 * its group, so that firewall rules, routes and inventories can address a group of overlay clients.
 *
 * The Python SDK's `overlay_network.segment_overlay_clients` splits the names in the order the
 * controller lists them (a JSON object's order), drops or repeats clients when ratios round badly,
 * and writes nothing. Here the clientpacks are ordered by overlay address, each group is one
 * contiguous block whose size is exact (largest remainder), the same input always gives the same
 * groups, and the groups are written as a tag on each clientpack — only where the tag differs, so a
 * second run writes nothing.
 */
import { Vns3Error, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { limitConcurrency } from '../concurrency.js';
import { emit } from '../events.js';
import { ipToInt, isIPv4 } from '../net/index.js';
import { runBulk } from './core/bulk.js';
import { converge } from './core/reconcile.js';
import type { BulkMacroOptions, BulkResult, MacroOptions } from './core/types.js';
import { checkClients, checkFlags, hasControl } from './core/validate.js';

/** How `segmentOverlayClients` splits the clientpacks: give exactly one of `groups`, `count` or `ratios`. */
export interface SegmentOverlayClientsOptions extends MacroOptions {
  /** Equal groups with these names, in this order (sizes differ by at most one; earlier groups get the extra). */
  groups?: readonly string[];
  /** This many equal groups named `group_1` … `group_<count>` (as the Python SDK names them). */
  count?: number;
  /**
   * Groups sized by weight, e.g. `{ web: 0.5, app: 0.3, db: 0.2 }` (or `{ web: 5, app: 3, db: 2 }`):
   * weights are positive and need not add up to 1. Every clientpack lands in exactly one group;
   * rounding goes to the largest remainders, ties to the earlier group. Groups follow the object's
   * key order (JavaScript puts integer-like keys such as `"1"` first).
   */
  ratios?: Readonly<Record<string, number>>;
  /** The tag key that holds the group name (default `group`): letters, digits, `_` and `-`. */
  tagKey?: string;
  /** Plan only: read and compute the groups, write nothing. */
  dryRun?: boolean;
  /** Tag writes in flight at once on one controller (default 8). */
  writeConcurrency?: number;
}

/** What `segmentOverlayClients` did (or, with `dryRun`, would do) on one controller. */
export interface OverlaySegmentation {
  controller: string;
  /** Group name → clientpack names, in overlay address order; groups in the order given. */
  groups: Record<string, string[]>;
  /** The tag key written. */
  tagKey: string;
  /** Clientpacks whose tag was (or would be) written. */
  written: string[];
  /** Clientpacks already tagged with their group. */
  unchanged: number;
  dryRun: boolean;
}

const TAG_KEY = /^[A-Za-z0-9_-]+$/;
const MAX_GROUPS = 10_000;

interface Plan {
  names: string[];
  weights: number[];
  tagKey: string;
  concurrency: number;
}

function checkGroupName(field: string, name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 255 || hasControl(name)) {
    throw new Vns3ValidationError(field, name, 'must be a non-empty single-line string of at most 255 characters');
  }
  return name;
}

/** Checks the whole request before any read; every problem is a Vns3ValidationError naming its field. */
function planOf(options: SegmentOverlayClientsOptions): Plan {
  const { groups, count, ratios } = options;
  const given = [groups !== undefined, count !== undefined, ratios !== undefined].filter(Boolean).length;
  if (given !== 1) {
    throw new Vns3ValidationError('groups', { groups, count, ratios }, 'give exactly one of groups (names), count or ratios');
  }
  checkFlags(options, ['dryRun']);
  const tagKey = options.tagKey ?? 'group';
  if (typeof tagKey !== 'string' || !TAG_KEY.test(tagKey)) throw new Vns3ValidationError('tagKey', tagKey, 'must be letters, digits, _ and - only');
  const concurrency = options.writeConcurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Vns3ValidationError('writeConcurrency', concurrency, 'must be a whole number of at least 1');

  let names: string[];
  let weights: number[];
  if (groups !== undefined) {
    if (!Array.isArray(groups) || groups.length === 0 || groups.length > MAX_GROUPS) {
      throw new Vns3ValidationError('groups', groups, `must be a non-empty array of at most ${MAX_GROUPS} group names`);
    }
    names = groups.map((g, i) => checkGroupName(`groups[${i}]`, g));
    weights = names.map(() => 1);
  } else if (count !== undefined) {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_GROUPS) {
      throw new Vns3ValidationError('count', count, `must be a whole number from 1 to ${MAX_GROUPS}`);
    }
    names = Array.from({ length: count }, (_, i) => `group_${i + 1}`);
    weights = names.map(() => 1);
  } else {
    if (ratios === null || typeof ratios !== 'object' || Array.isArray(ratios) || Object.keys(ratios).length === 0) {
      throw new Vns3ValidationError('ratios', ratios, 'must be an object of group name → positive weight, e.g. { web: 0.7, db: 0.3 }');
    }
    const entries = Object.entries(ratios as Record<string, unknown>);
    names = entries.map(([name]) => checkGroupName(`ratios.${name}`, name));
    weights = entries.map(([name, w]) => {
      if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) throw new Vns3ValidationError(`ratios.${name}`, w, 'must be a number above 0');
      return w;
    });
  }
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) throw new Vns3ValidationError(`groups[${i}]`, n, 'is given twice: group names must be unique');
    seen.add(n);
  });
  return { names, weights, tagKey, concurrency };
}

/**
 * Sizes of the groups for `total` items: each weight's share, rounded down, then one more to the
 * largest remainders (ties to the earlier group), so that the sizes add up to `total` exactly.
 */
export function groupSizes(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, w) => a + w, 0);
  const quotas = weights.map((w) => (total * w) / sum);
  const sizes = quotas.map((q) => Math.floor(q));
  let left = total - sizes.reduce((a, s) => a + s, 0);
  const order = quotas.map((q, i) => ({ i, rest: q - Math.floor(q) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    sizes[i]! += 1;
    left--;
  }
  return sizes;
}

/** Clientpack names in overlay address order (names that are not addresses last, by name). */
function byAddress(names: readonly string[]): string[] {
  const key = (n: string): number => {
    const ip = n.replace(/_/g, '.');
    return isIPv4(ip) ? ipToInt(ip) : Number.MAX_SAFE_INTEGER;
  };
  return [...names].sort((a, b) => key(a) - key(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Splits the ordered names into contiguous blocks, one per group. */
function segment(names: readonly string[], groups: readonly string[], weights: readonly number[]): Record<string, string[]> {
  const sorted = byAddress(names);
  const sizes = groupSizes(sorted.length, weights);
  const out: Record<string, string[]> = {};
  let at = 0;
  groups.forEach((g, i) => {
    out[g] = sorted.slice(at, at + sizes[i]!);
    at += sizes[i]!;
  });
  return out;
}

/** One controller: read, plan, write the differing tags; re-run from the read after a transient failure. */
async function segmentOne(client: Vns3Client, plan: Plan, options: SegmentOverlayClientsOptions): Promise<OverlaySegmentation> {
  const { signal, onEvent } = options;
  const host = client.host;
  const dryRun = options.dryRun === true;
  let first: OverlaySegmentation | undefined;
  return converge(
    host,
    'overlay.segment',
    async ({ progress }) => {
      const packs = await client.get('/clientpacks', { signal });
      const names = Object.keys(packs);
      if (names.length === 0) {
        throw new Vns3Error(`no clientpacks on ${host} to segment: the topology needs its license and keyset first`, { controller: host });
      }
      const groups = segment(names, plan.names, plan.weights);
      const todo: { name: string; group: string }[] = [];
      for (const [group, members] of Object.entries(groups)) {
        for (const name of members) if (packs[name]?.tags?.[plan.tagKey] !== group) todo.push({ name, group });
      }
      const result: OverlaySegmentation = { controller: host, groups, tagKey: plan.tagKey, written: todo.map((t) => t.name), unchanged: names.length - todo.length, dryRun };
      // A re-run after a transient failure reports what the whole call wrote, not the last round only.
      first ??= result;
      emit(onEvent, {
        controller: host,
        step: 'overlay.segment',
        detail: `${names.length} clientpacks in ${plan.names.length} groups: ${todo.length} to tag, ${result.unchanged} already tagged${dryRun ? ' (dry run)' : ''}`,
        data: { clientpacks: names.length, groups: plan.names.length, toTag: todo.length },
      });
      if (dryRun || todo.length === 0) return first;
      const limit = limitConcurrency(plan.concurrency);
      // Setting a tag to the value it has is harmless, so a write whose outcome is unknown is simply
      // re-planned. Every write of the round settles before the loop re-reads.
      const outcomes = await Promise.allSettled(
        todo.map((t) =>
          limit(async () => {
            await client.post('/clientpack/{clientpack_name}', { params: { path: { clientpack_name: t.name } }, body: { key: plan.tagKey, value: t.group }, signal });
            progress();
          }),
        ),
      );
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
      emit(onEvent, { controller: host, step: 'overlay.segment', detail: `tagged ${todo.length} clientpacks with ${plan.tagKey}` });
      return first;
    },
    options,
  );
}

/**
 * Splits the controller's clientpacks into groups — by names (`groups`), by number (`count`) or by
 * weights (`ratios`) — and tags each clientpack with its group under `tagKey` (default `group`).
 * Deterministic: clientpacks are ordered by overlay address and each group is one contiguous block,
 * so the same clientpacks always land in the same groups. Writes only the tags that differ; a second
 * run writes nothing. Throws Vns3ValidationError for bad options before any request; a Vns3Error
 * when the controller has no clientpacks; the client's error when a request fails (after the retry
 * budget for transient failures).
 */
export function segmentOverlayClients(client: Vns3Client, options: SegmentOverlayClientsOptions): Promise<OverlaySegmentation>;
/**
 * The same segmentation on several controllers (each keeps its own clientpack tags), in parallel.
 * Options are checked once before any request (Vns3ValidationError); controllers that cannot be
 * read or written are in `failed`.
 */
export function segmentOverlayClients(clients: readonly Vns3Client[], options: SegmentOverlayClientsOptions & BulkMacroOptions): Promise<BulkResult<OverlaySegmentation>>;
export async function segmentOverlayClients(
  target: Vns3Client | readonly Vns3Client[],
  options: SegmentOverlayClientsOptions & BulkMacroOptions,
): Promise<OverlaySegmentation | BulkResult<OverlaySegmentation>> {
  if (options === null || typeof options !== 'object') throw new Vns3ValidationError('options', options, 'must be an object with groups, count or ratios');
  const plan = planOf(options);
  if (!Array.isArray(target)) return segmentOne(target as Vns3Client, plan, options);
  checkClients(target);
  return runBulk(target, (c) => c.host, (client) => segmentOne(client, plan, options), {
    concurrency: options.concurrency,
    signal: options.signal,
    onEvent: options.onEvent,
    step: 'overlay.segment',
  });
}
