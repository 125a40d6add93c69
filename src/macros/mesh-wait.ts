/**
 * Waiting for a peering mesh to come up: every controller must have every other configured and
 * reachable. It writes nothing, so it lives apart from the macros that configure peering.
 */
import pLimit from 'p-limit';
import type { Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { DEFAULT_BULK_CONCURRENCY } from './bulk.js';
import { Vns3WaitTimeoutError } from './errors.js';
import type { WaitingMacroOptions } from './options.js';
import { isConfiguredPeer, peeringEntries } from './peering.js';
import { fetchStates, StateCache } from './state.js';
import { pollUntil } from './wait.js';

export interface WaitForMeshOptions extends WaitingMacroOptions {
  /** Controllers probed at the same time (default 16). */
  concurrency?: number;
  /** Cap on the probe interval (default 5000 ms). */
  maxIntervalMs?: number;
  /** Used for controller names in messages. */
  cache?: StateCache;
}

/** One direction of a link between two mesh members, as the `from` controller reports it. */
export interface MeshLink {
  /** The reporting controller's name (`controller_name`, or its host). */
  from: string;
  host: string;
  fromId: number;
  toId: number;
  /** Address `from` uses to reach the peer; empty when the peer is not configured. */
  address: string;
  reachable: boolean;
}

export interface MeshSnapshot {
  links: MeshLink[];
  /** One line per problem: a link down, a peer not configured, a controller not answering. */
  problems: string[];
}

/** The mesh did not come up in time; `problems` lists every link still down. */
export class Vns3MeshNotReadyError extends Vns3WaitTimeoutError {
  readonly problems: string[];
  readonly links: MeshLink[];

  constructor(timeoutMs: number, snapshot: MeshSnapshot | undefined, lastError?: string) {
    const problems = snapshot?.problems ?? [];
    super({ what: 'peering mesh', controller: '*', timeoutMs, lastState: problems.join('; ') || undefined, lastError });
    this.name = 'Vns3MeshNotReadyError';
    this.problems = problems;
    this.links = snapshot?.links ?? [];
    const detail = problems.length > 0 ? problems.map((p) => `  ${p}`).join('\n') : '  no complete probe of the mesh';
    this.message = `Peering mesh not up after ${timeoutMs} ms:\n${detail}`;
  }
}

/**
 * Polls `GET /peering` on every controller in parallel until each one has every other configured
 * and reachable. Throws Vns3MeshNotReadyError naming each link still down, e.g.
 * `vns3-1 (id 1) -> id 3 at 10.3.1.10: not reachable`.
 */
export async function waitForMesh(clients: readonly Vns3Client[], options: WaitForMeshOptions = {}): Promise<MeshLink[]> {
  const { signal, onEvent } = options;
  const limit = pLimit(options.concurrency ?? DEFAULT_BULK_CONCURRENCY);
  const states = await fetchStates(clients, { ...options, cache: options.cache ?? new StateCache() });
  const nameOf = new Map(states.succeeded.map((s) => [s.controller, s.value.controllerName || s.controller]));
  let last: MeshSnapshot | undefined;

  const probe = async (probeSignal: AbortSignal): Promise<MeshSnapshot> => {
    // A poll is a retry loop already: one attempt per probe, so a dead controller does not stall the others.
    const reads = await Promise.all(
      clients.map((c) => limit(() => c.get('/peering', { signal: probeSignal, retry: false }).then((p) => ({ p }), (e: unknown) => ({ e })))),
    );
    const snapshot: MeshSnapshot = { links: [], problems: [] };
    const memberIds = new Set<number>();
    for (const r of reads) if ('p' in r && typeof r.p.id === 'number') memberIds.add(r.p.id);
    reads.forEach((r, i) => {
      const host = clients[i]!.host;
      const name = nameOf.get(host) ?? host;
      if ('e' in r) {
        snapshot.problems.push(`${name} (${host}): peering status unreadable: ${r.e instanceof Error ? r.e.message : String(r.e)}`);
        return;
      }
      const selfId = r.p.id;
      if (typeof selfId !== 'number') {
        snapshot.problems.push(`${name} (${host}): peering id not set`);
        return;
      }
      const entries = peeringEntries(r.p);
      for (const toId of [...memberIds].sort((a, b) => a - b)) {
        if (toId === selfId) continue;
        const entry = entries.get(toId);
        const configured = entry !== undefined && isConfiguredPeer(entry);
        const link: MeshLink = { from: name, host, fromId: selfId, toId, address: configured ? entry.address! : '', reachable: configured && entry.reachable === true };
        snapshot.links.push(link);
        if (!configured) snapshot.problems.push(`${name} (id ${selfId}) -> id ${toId}: not configured`);
        else if (!link.reachable) snapshot.problems.push(`${name} (id ${selfId}) -> id ${toId} at ${link.address}: not reachable`);
      }
    });
    last = snapshot;
    return snapshot;
  };

  try {
    const done = await pollUntil(
      {
        what: 'peering mesh',
        controller: '*',
        probe,
        done: (s) => s.problems.length === 0,
        describe: (s) => `${s.problems.length} problem(s): ${s.problems.slice(0, 3).join('; ')}`,
      },
      { ...options, ...(signal ? { signal } : {}), ...(onEvent ? { onEvent } : {}) },
    );
    emit(onEvent, { controller: '*', step: 'peering.wait', detail: `mesh up: ${done.links.length} links reachable`, data: { links: done.links.length } });
    return done.links;
  } catch (err) {
    if (err instanceof Vns3WaitTimeoutError && !signal?.aborted) throw new Vns3MeshNotReadyError(err.timeoutMs, last, err.lastError);
    throw err;
  }
}
