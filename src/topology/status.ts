/**
 * `readStatus`: the mesh as it is, against the file: per controller its license, peer id, keyset
 * checksum, each declared link (configured, reachable), the subnets it has learned and those it
 * should have, and HA roles; plus every problem in words. `formatStatus` prints it as a matrix.
 */
import type { Vns3Client } from '../client/index.js';
import { DEFAULT_HA_CONTAINER_NAME, listContainers } from '../macros/index.js';
import { normalizeCidr } from '../net/index.js';
import { bridgeProblems, bridgeStatuses, type BridgeStatus } from './bridges.js';
import { connectTopology, observeTopology, type Observation } from './observe.js';
import { linkedNames } from './plan.js';
import type { Topology } from './types.js';

/** One declared link, seen from its `from` side. */
export interface LinkStatus {
  from: string;
  to: string;
  /** Peer id of `to`. */
  toId: number;
  configured: boolean;
  reachable: boolean;
}

/** One controller's state against the file. */
export interface ControllerStatus {
  name: string;
  host: string;
  root: boolean;
  /** False when the API could not be read (`error` says why). */
  reachable: boolean;
  error?: string;
  licensed: boolean;
  peerId?: number;
  keysetChecksum?: string;
  links: LinkStatus[];
  /** Subnets this controller advertises. */
  advertised: string[];
  /** Routes it learned from peers. */
  learned: string[];
  /** Subnets of its linked peers (when advertised) it has not learned. */
  missing: string[];
  /** HA role and whether its plugin container runs, for controllers of an HA pair. */
  ha?: { role: 'primary' | 'secondary'; pair: string; container: 'running' | 'stopped' | 'absent' | 'unknown' };
}

/** The whole mesh against the file; `ok` when there is no problem. */
export interface TopologyStatus {
  ok: boolean;
  controllers: ControllerStatus[];
  /** Every controller with a keyset has the same checksum. */
  keysetAgreement: boolean;
  /** Each IPsec bridge of the file: its tunnel state on both sides. */
  bridges: BridgeStatus[];
  problems: string[];
}

async function haState(o: Observation, topology: Topology, signal?: AbortSignal): Promise<ControllerStatus['ha']> {
  const pair = topology.ha.find((p) => p.primary === o.controller.name || p.secondary === o.controller.name);
  if (!pair) return undefined;
  const role = pair.primary === o.controller.name ? 'primary' : 'secondary';
  const base = { role, pair: role === 'primary' ? pair.secondary : pair.primary } as const;
  if (!o.state?.licensed) return { ...base, container: 'unknown' };
  try {
    const found = (await listContainers(o.client, { signal })).find((c) => c.name === (pair.containerName ?? DEFAULT_HA_CONTAINER_NAME));
    return { ...base, container: found ? (found.running ? 'running' : 'stopped') : 'absent' };
  } catch {
    return { ...base, container: 'unknown' };
  }
}

function controllerStatus(topology: Topology, observations: readonly Observation[], o: Observation): ControllerStatus {
  const me = o.controller;
  const byName = new Map(observations.map((x) => [x.controller.name, x]));
  const links: LinkStatus[] = linkedNames(topology, me.name).map((to) => {
    const toId = byName.get(to)!.controller.peerId;
    const peer = o.peers?.get(toId);
    return { from: me.name, to, toId, configured: peer !== undefined, reachable: peer?.reachable === true };
  });
  const learned = (o.routes ?? []).filter((r) => !r.editable).map((r) => r.cidr);
  const advertised = (o.routes ?? []).filter((r) => r.editable && r.advertise).map((r) => r.cidr);
  const learnedSet = new Set(learned.map((c) => safeCidr(c)));
  const missing = topology.peering.advertiseSubnets ? linkedNames(topology, me.name).map((n) => normalizeCidr(byName.get(n)!.controller.subnet)).filter((s) => !learnedSet.has(s)) : [];
  return {
    name: me.name,
    host: me.host,
    root: me.name === topology.root,
    reachable: !o.error,
    error: o.error?.message,
    licensed: o.state?.licensed === true,
    peerId: o.state?.peerId,
    keysetChecksum: o.keysetChecksum,
    links,
    advertised: advertised.sort(),
    learned: learned.sort(),
    missing,
  };
}

function safeCidr(c: string): string {
  try {
    return normalizeCidr(c);
  } catch {
    return c;
  }
}

function problemsOf(topology: Topology, list: readonly ControllerStatus[]): string[] {
  const problems: string[] = [];
  for (const c of list) {
    const want = topology.controllers.find((x) => x.name === c.name)!;
    if (!c.reachable) {
      problems.push(`${c.name}: API not reachable (${c.error ?? 'no answer'})`);
      continue;
    }
    if (!c.licensed) problems.push(`${c.name}: not licensed`);
    if (c.peerId !== want.peerId) problems.push(`${c.name}: peer id is ${c.peerId ?? 'unset'}, not ${want.peerId}`);
    for (const l of c.links) if (!l.reachable) problems.push(`${c.name} -> ${l.to} (id ${l.toId}): ${l.configured ? 'not reachable' : 'not configured'}`);
    if (c.missing.length > 0) problems.push(`${c.name}: has not learned ${c.missing.join(', ')}`);
    if (c.ha && c.ha.container !== 'running' && !(c.ha.role === 'primary' && topology.ha.find((p) => p.primary === c.name)?.cloud === 'overlay')) {
      problems.push(`${c.name}: HA plugin container ${c.ha.container}`);
    }
  }
  const sums = new Set(list.map((c) => c.keysetChecksum).filter(Boolean));
  if (sums.size > 1) problems.push(`keysets differ: ${list.map((c) => `${c.name} ${c.keysetChecksum ?? '-'}`).join(', ')}`);
  return problems;
}

/** The status from observations already made. */
export async function statusFromObservations(topology: Topology, observations: readonly Observation[], signal?: AbortSignal): Promise<TopologyStatus> {
  const controllers = observations.map((o) => controllerStatus(topology, observations, o));
  await Promise.all(observations.map(async (o, i) => (controllers[i]!.ha = await haState(o, topology, signal))));
  const bridges = await bridgeStatuses(topology, observations, signal);
  const problems = [...problemsOf(topology, controllers), ...bridgeProblems(bridges)];
  const sums = new Set(controllers.map((c) => c.keysetChecksum).filter(Boolean));
  return { ok: problems.length === 0, controllers, keysetAgreement: sums.size <= 1 && controllers.every((c) => c.keysetChecksum), bridges, problems };
}

/**
 * Reads every controller and compares it with the file: links, learned subnets, keysets, licenses,
 * peer ids, HA containers. Never throws for a controller that does not answer (it is a problem in
 * the status); throws Vns3ValidationError for a bad connection setting and the caller's abort reason.
 */
export async function readStatus(topology: Topology, options: { concurrency?: number; signal?: AbortSignal; clients?: readonly Vns3Client[] } = {}): Promise<TopologyStatus> {
  const clients = options.clients ?? connectTopology(topology);
  try {
    return await statusFromObservations(topology, await observeTopology(topology, clients, options), options.signal);
  } finally {
    if (!options.clients) await Promise.all(clients.map((c) => c.close()));
  }
}

const mark = (l: LinkStatus | undefined, self: boolean): string => (self ? '-' : !l ? ' ' : l.reachable ? 'ok' : l.configured ? 'DOWN' : 'none');

/** The status as text: a link matrix (row: from, column: to), then one line per controller, then the problems. */
export function formatStatus(status: TopologyStatus): string {
  const names = status.controllers.map((c) => c.name);
  const width = Math.max(4, ...names.map((n) => n.length));
  const first = Math.max('from \\ to'.length, ...names.map((n) => n.length));
  const cell = (s: string): string => s.padEnd(width);
  const lines = [`${'from \\ to'.padEnd(first)}  ${names.map(cell).join(' ')}`.trimEnd()];
  for (const c of status.controllers) {
    lines.push(`${c.name.padEnd(first)}  ${names.map((n) => cell(mark(c.links.find((l) => l.to === n), n === c.name))).join(' ')}`.trimEnd());
  }
  lines.push('');
  for (const c of status.controllers) {
    if (!c.reachable) {
      lines.push(`${c.name} (${c.host}): not reachable — ${c.error ?? ''}`);
      continue;
    }
    const ha = c.ha ? `, HA ${c.ha.role} (container ${c.ha.container})` : '';
    lines.push(
      `${c.name} (${c.host})${c.root ? ' root' : ''}: ${c.licensed ? 'licensed' : 'NOT licensed'}, peer id ${c.peerId ?? '-'}, keyset ${c.keysetChecksum ?? '-'}${ha}; learned ${c.learned.join(' ') || '-'}`,
    );
  }
  for (const b of status.bridges ?? []) {
    const side = (s: BridgeStatus['a']): string => `${s.controller} ${s.connected ? 'connected' : `DOWN (${s.detail ?? 'unknown'})`}`;
    lines.push(`IPsec ${b.name}: ${side(b.a)} <-> ${side(b.b)}`);
  }
  lines.push('', status.ok ? 'Status: the mesh matches the topology.' : `Status: ${status.problems.length} problem(s):`);
  for (const p of status.problems) lines.push(`  ! ${p}`);
  return lines.join('\n');
}
