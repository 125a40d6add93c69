/**
 * Peering: give each controller its id, peer every controller with every other, wait for the mesh
 * to come up. Unlike the Python SDK's `peer_mesh` (which POSTs every peer and fails on the second
 * run), `peerMesh` reconciles: it reads each controller's peering map and writes only what differs.
 */
import { limitConcurrency as pLimit } from '../concurrency.js';
import { isOutcomeUnknown, Vns3Error, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { components } from '../generated/vns3.js';
import { checkConcurrency, DEFAULT_BULK_CONCURRENCY } from './core/bulk.js';
import { Vns3MeshNotReadyError, Vns3WaitTimeoutError, type MeshLink, type MeshSnapshot } from './core/errors.js';
import { pollUntil } from './core/poll-until.js';
import { checkTiming } from './core/poller.js';
import { readThenWrite, type Reading } from './core/read-then-write.js';
import { fetchStates, StateCache, type ControllerState } from './core/state.js';
import type { BulkMacroOptions, BulkResult, WaitingMacroOptions } from './core/types.js';
import { checkAddress, checkClients, checkFlags } from './core/validate.js';

type Peering = components['schemas']['Peering'];
type PeeringEntry = components['schemas']['PeeringManager'];

/** The peer map of a `GET /peering` answer (older versions say `managers`, newer `controllers`). */
export function peeringEntries(peering: Peering): Map<number, PeeringEntry> {
  const map = peering.controllers ?? peering.managers ?? {};
  const out = new Map<number, PeeringEntry>();
  for (const [key, entry] of Object.entries(map)) {
    const id = typeof entry.id === 'number' ? entry.id : Number(key);
    if (Number.isInteger(id)) out.set(id, entry);
  }
  return out;
}

/** A configured peer (not this controller, not an empty slot). */
export function isConfiguredPeer(entry: PeeringEntry): boolean {
  return entry.self !== true && entry.not_set !== true && typeof entry.address === 'string' && entry.address.length > 0;
}

// ---------------------------------------------------------------- setPeerIds

/** How `setPeerIds` assigns ids. */
export interface SetPeerIdsOptions extends BulkMacroOptions {
  /** Id per client, aligned with `clients`; default 1..n in the order given. */
  ids?: readonly number[];
  /** Allow changing an id that is already set to something else (the controller refuses otherwise). */
  force?: boolean;
  /** Forgotten for every controller whose id changes. */
  cache?: StateCache;
}

/** What `setPeerIds` did on one controller. */
export interface SetPeerIdsResult {
  id: number;
  changed: boolean;
}

async function licensedControllerCount(client: Vns3Client, peering: Peering, signal?: AbortSignal): Promise<number> {
  const fromMap = peeringEntries(peering).size;
  if (fromMap > 0) return fromMap;
  const license = await client.get('/license', { signal });
  return license.topology?.managers?.length ?? 0;
}

/**
 * Sets each controller's peering id (`PUT /peering/self`), by client order or by `ids`. Ids are
 * checked (whole, unique, 1..licensed controller count) before any write: Vns3ValidationError.
 * Controllers already holding their id are left alone; a controller that cannot be read is in
 * `failed` and not written.
 */
export async function setPeerIds(clients: readonly Vns3Client[], options: SetPeerIdsOptions = {}): Promise<BulkResult<SetPeerIdsResult>> {
  checkClients(clients);
  checkFlags(options, ['force']);
  const { ids: given, onEvent, force } = options;
  const ids = given ? [...given] : clients.map((_, i) => i + 1);
  if (ids.length !== clients.length) {
    throw new Vns3ValidationError('ids', given, `needs one id per client (${clients.length}), got ${ids.length}`);
  }
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 1) throw new Vns3ValidationError(`ids[${i}]`, id, 'must be a whole number of at least 1', { controller: clients[i]!.host });
    const first = ids.indexOf(id);
    if (first !== i) throw new Vns3ValidationError(`ids[${i}]`, id, `duplicate of ids[${first}]`, { controller: clients[i]!.host });
  });

  return readThenWrite(
    clients,
    {
      read: async (client, context) => {
        const peering = await client.get('/peering', { signal: context.signal });
        return { current: peering.id ?? undefined, licensed: await licensedControllerCount(client, peering, context.signal) };
      },
      plan: (readings) =>
        readings.map(({ client, index, value }) => {
          if (value && ids[index]! > value.licensed) {
            throw new Vns3ValidationError(`ids[${index}]`, ids[index], `out of range: the license allows controller ids 1 to ${value.licensed}`, { controller: client.host });
          }
          return ids[index]!;
        }),
      write: async (client, id, { signal, reading }) => {
        if (reading.current === id) {
          emit(onEvent, { controller: client.host, step: 'peering.id', detail: `peering id already ${id}`, level: 'debug' });
          return { id, changed: false };
        }
        await client.put('/peering/self', { body: { id, force: force || undefined }, signal });
        options.cache?.invalidate(client);
        emit(onEvent, { controller: client.host, step: 'peering.id', detail: `peering id set to ${id}`, data: { id } });
        return { id, changed: true };
      },
    },
    { ...options, readStep: 'peering.ids.read', writeStep: 'peering.ids' },
  );
}

// ------------------------------------------------------------------ peerMesh

/** Which of a controller's addresses its peers dial. */
export type PeerAddressKind = 'private' | 'public' | 'publicDns';

/** How `peerMesh` peers the controllers. */
export interface PeerMeshOptions extends BulkMacroOptions {
  /** How controllers reach each other: a kind of address, or the address per client host. Default `private`. */
  address?: PeerAddressKind | Readonly<Record<string, string>>;
  /** Overlay MTU of every link (500–4800); left as the controller has it when absent. */
  mtu?: number;
  /** Add a controller's new peers unfinalized (`force: false`) and finalize with the last one, so its links come up together. */
  delayConfigure?: boolean;
  /** Delete configured peers that are not part of this mesh (default false: they are reported as `extra`). */
  removeExtra?: boolean;
  /** Controller state (peer ids, addresses); a shared cache saves reads. */
  cache?: StateCache;
}

/** What `peerMesh` did on one controller, as peer ids. */
export interface PeerMeshResult {
  added: number[];
  updated: number[];
  removed: number[];
  unchanged: number[];
  /** Configured peers outside the mesh, left alone because `removeExtra` is off. */
  extra: number[];
  /** Hosts of mesh members whose state could not be read, so no link to them was configured. */
  skipped: string[];
}

interface DesiredPeer {
  id: number;
  address: string;
}

function addressOf(state: ControllerState, kind: PeerMeshOptions['address'], index: number): string {
  const field = typeof kind === 'object' ? `address[${JSON.stringify(state.host)}]` : 'address';
  let value: string | undefined;
  if (kind === undefined || kind === 'private') value = state.privateIp;
  else if (kind === 'public') value = state.publicIp;
  else if (kind === 'publicDns') value = state.publicDns;
  else if (typeof kind === 'object') value = kind[state.host];
  else throw new Vns3ValidationError('address', kind, "must be 'private', 'public', 'publicDns' or a map of host to address");
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Vns3ValidationError(field, value, `no peering address for clients[${index}]`, { controller: state.host });
  }
  // Whatever the source (the caller's map or the controller's own report), a peer address is dialled: IP or DNS name only.
  return checkAddress(field, value, state.host);
}

/** A map of addresses is checked whole before any read: every value an IP or DNS name. */
function checkAddressOption(clients: readonly Vns3Client[], kind: PeerMeshOptions['address']): void {
  if (kind === undefined || kind === 'private' || kind === 'public' || kind === 'publicDns') return;
  if (kind === null || typeof kind !== 'object' || Array.isArray(kind)) throw new Vns3ValidationError('address', kind, "must be 'private', 'public', 'publicDns' or a map of host to address");
  for (const [host, value] of Object.entries(kind)) checkAddress(`address[${JSON.stringify(host)}]`, value, clients.find((c) => c.host === host)?.host);
}

const sameAddress = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * Peers every controller with every other (both directions) and reconciles what is there: adds
 * missing peers, corrects a changed address or MTU, leaves correct peers alone and removes
 * peers outside the mesh only with `removeExtra`. Peer ids must be set (see `setPeerIds`).
 */
export async function peerMesh(clients: readonly Vns3Client[], options: PeerMeshOptions = {}): Promise<BulkResult<PeerMeshResult>> {
  checkClients(clients);
  checkFlags(options, ['delayConfigure', 'removeExtra']);
  checkAddressOption(clients, options.address);
  const { mtu } = options;
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 500 || mtu > 4800)) {
    throw new Vns3ValidationError('mtu', mtu, 'must be a whole number from 500 to 4800');
  }
  const cache = options.cache ?? new StateCache();
  return readThenWrite(
    clients,
    {
      read: (client, { signal }) => cache.get(client, { signal }),
      plan: (readings) => planMesh(readings, options.address),
      write: (client, plan, { signal, progress }) => reconcilePeers(client, plan.desired, { ...options, signal, onWrite: progress }, plan.skipped),
    },
    { ...options, readStep: 'state.fetch', writeStep: 'peering.mesh' },
  );
}

/**
 * Every member's desired peers from all states: a controller without a peering id fails alone, two
 * controllers holding one id stop the run before any write (Vns3ValidationError).
 */
function planMesh(readings: readonly Reading<ControllerState>[], address: PeerMeshOptions['address']): (MeshPlan | Error)[] {
  const members: { host: string; peer: DesiredPeer }[] = [];
  const idOwner = new Map<number, string>();
  const unset = new Map<string, Error>();
  for (const { client, index, value: state } of readings) {
    if (!state) continue;
    if (state.peerId === undefined) {
      unset.set(client.host, new Vns3Error(`peering id of ${client.host} is not set; run setPeerIds first`, { controller: client.host }));
      continue;
    }
    const owner = idOwner.get(state.peerId);
    if (owner !== undefined) {
      throw new Vns3ValidationError('clients', state.peerId, `peering id ${state.peerId} is held by both ${owner} and ${client.host}`, { controller: client.host });
    }
    idOwner.set(state.peerId, client.host);
    members.push({ host: client.host, peer: { id: state.peerId, address: addressOf(state, address, index) } });
  }
  const skipped = readings.map((r) => r.client.host).filter((h) => !members.some((m) => m.host === h));
  return readings.map(({ client }) => {
    const host = client.host;
    return (
      unset.get(host) ?? {
        desired: members.filter((m) => m.host !== host).map((m) => m.peer),
        skipped: skipped.filter((h) => h !== host),
      }
    );
  });
}

interface MeshPlan {
  desired: DesiredPeer[];
  skipped: string[];
}

async function reconcilePeers(client: Vns3Client, desired: DesiredPeer[], options: PeerMeshOptions & { onWrite?: () => void }, skipped: string[]): Promise<PeerMeshResult> {
  const { signal, onEvent, mtu } = options;
  const host = client.host;
  const peering = await client.get('/peering', { signal });
  if (typeof peering.id !== 'number') throw new Vns3Error(`peering id of ${host} is not set; run setPeerIds first`, { controller: host });
  const current = peeringEntries(peering);
  const changes: PeerMeshResult = { added: [], updated: [], removed: [], unchanged: [], extra: [], skipped };
  const wanted = new Set(desired.map((d) => d.id));
  const toAdd: DesiredPeer[] = [];

  for (const [id, entry] of current) {
    if (id === peering.id || wanted.has(id) || !isConfiguredPeer(entry)) continue;
    if (!options.removeExtra) {
      changes.extra.push(id);
      continue;
    }
    await client.delete('/peering/peers/{peer_id}', { params: { path: { peer_id: id } }, signal });
    changes.removed.push(id);
    options.onWrite?.();
    emit(onEvent, { controller: host, step: 'peering.peer', detail: `removed peer ${id}`, data: { id } });
  }

  for (const peer of desired) {
    if (peer.id === peering.id) throw new Vns3Error(`${host} holds peering id ${peer.id}, which belongs to another mesh member`, { controller: host });
    const entry = current.get(peer.id);
    if (!entry || !isConfiguredPeer(entry)) {
      toAdd.push(peer);
      continue;
    }
    const mtuDiffers = mtu !== undefined && String(entry.mtu ?? '') !== String(mtu);
    if (sameAddress(entry.address ?? '', peer.address) && !mtuDiffers) {
      changes.unchanged.push(peer.id);
      continue;
    }
    await client.put('/peering/peers/{peer_id}', {
      params: { path: { peer_id: peer.id } },
      body: { name: peer.address, overlay_mtu: mtu },
      signal,
    });
    changes.updated.push(peer.id);
    options.onWrite?.();
    emit(onEvent, { controller: host, step: 'peering.peer', detail: `updated peer ${peer.id} to ${peer.address}`, data: { id: peer.id } });
  }

  for (const [n, peer] of toAdd.entries()) {
    // Delayed configure: every add but the last leaves peering unfinalized, so all links start together.
    const force = options.delayConfigure ? n === toAdd.length - 1 : undefined;
    await addPeer(client, peer, { mtu, force, signal });
    changes.added.push(peer.id);
    options.onWrite?.();
    emit(onEvent, { controller: host, step: 'peering.peer', detail: `added peer ${peer.id} at ${peer.address}`, data: { id: peer.id } });
  }
  return changes;
}

/** POST is not idempotent: after an ambiguous failure, re-read and count it as done only if the peer is there. */
async function addPeer(client: Vns3Client, peer: DesiredPeer, options: { mtu?: number; force?: boolean; signal?: AbortSignal }): Promise<void> {
  const { mtu, force, signal } = options;
  try {
    await client.post('/peering/peers', { body: { id: peer.id, name: peer.address, overlay_mtu: mtu, force }, signal });
  } catch (err) {
    if (!isOutcomeUnknown(err)) throw err;
    const after = peeringEntries(await client.get('/peering', { signal })).get(peer.id);
    if (!after || !isConfiguredPeer(after) || !sameAddress(after.address ?? '', peer.address)) throw err;
  }
}

// ------------------------------------------------------------- waitForMesh

/** The mesh as the latest successful read of each controller shows it; a controller never read is "unknown". */
function meshSnapshot(clients: readonly Vns3Client[], known: Map<number, Peering>, lastError: Map<number, string>, nameOf: Map<string, string>): MeshSnapshot {
  const snapshot: MeshSnapshot = { links: [], problems: [] };
  const memberIds = new Set<number>();
  for (const p of known.values()) if (typeof p.id === 'number') memberIds.add(p.id);
  clients.forEach((client, i) => {
    const host = client.host;
    const name = nameOf.get(host) ?? host;
    const p = known.get(i);
    if (!p) {
      snapshot.problems.push(`${name} (${host}): peering status unknown (no successful read yet: ${lastError.get(i) ?? 'not probed'})`);
      return;
    }
    const selfId = p.id;
    if (typeof selfId !== 'number') {
      snapshot.problems.push(`${name} (${host}): peering id not set`);
      return;
    }
    const entries = peeringEntries(p);
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
  return snapshot;
}

/** How `waitForMesh` waits. */
export interface WaitForMeshOptions extends WaitingMacroOptions {
  /** Controllers probed at the same time (default 16). */
  concurrency?: number;
  /** Cap on the probe interval (default 5000 ms). */
  maxIntervalMs?: number;
  /** Used for controller names in messages. */
  cache?: StateCache;
}

/**
 * Polls `GET /peering` on every controller in parallel until each one has every other configured
 * and reachable; returns every link. A read that fails (503, dropped connection) leaves that
 * controller's links "unknown" — its last successful read stands — instead of "down". Throws Vns3MeshNotReadyError naming each link still down,
 * e.g. `vns3-1 (id 1) -> id 3 at 10.3.1.10: not reachable`, Vns3ValidationError for bad timing
 * options, and the caller's abort reason.
 */
export async function waitForMesh(clients: readonly Vns3Client[], options: WaitForMeshOptions = {}): Promise<MeshLink[]> {
  const { signal, onEvent } = options;
  checkClients(clients);
  checkTiming(options);
  const limit = pLimit(checkConcurrency(options.concurrency ?? DEFAULT_BULK_CONCURRENCY));
  const states = await fetchStates(clients, { ...options, cache: options.cache ?? new StateCache() });
  const nameOf = new Map(states.succeeded.map((s) => [s.controller, s.value.controllerName || s.controller]));
  let last: MeshSnapshot | undefined;

  // A failed read says nothing about the mesh: the controller's links are "unknown", and its last
  // successful read stands until a newer one comes (a 503 from the API is not a link down).
  const known = new Map<number, Peering>();
  const lastError = new Map<number, string>();
  const probe = async (probeSignal: AbortSignal): Promise<MeshSnapshot> => {
    // A poll is a retry loop already: one attempt per probe, so a dead controller does not stall the others.
    await Promise.all(
      clients.map((c, i) =>
        limit(() =>
          c.get('/peering', { signal: probeSignal, retry: false }).then(
            (p) => void (known.set(i, p), lastError.delete(i)),
            (e: unknown) => void lastError.set(i, e instanceof Error ? e.message : String(e)),
          ),
        ),
      ),
    );
    last = meshSnapshot(clients, known, lastError, nameOf);
    return last;
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
      options,
    );
    emit(onEvent, { controller: '*', step: 'peering.wait', detail: `mesh up: ${done.links.length} links reachable`, data: { links: done.links.length } });
    return done.links;
  } catch (err) {
    if (err instanceof Vns3WaitTimeoutError && !signal?.aborted) throw new Vns3MeshNotReadyError(err.timeoutMs, last, err.lastError);
    throw err;
  }
}
