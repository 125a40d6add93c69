/**
 * Peering macros: give each controller its id, peer every controller with every
 * other (waiting for the links to come up is mesh-wait.ts). Unlike the Python SDK's `peer_mesh`
 * (which POSTs every peer and fails on the second run), `peerMesh` reconciles:
 * it reads each controller's peering map and writes only what differs.
 */
import type { Vns3Client } from '../client/index.js';
import { isOutcomeUnknown, Vns3Error, Vns3ValidationError } from '../client/errors.js';
import type { components } from '../generated/vns3.js';
import { emit } from '../events.js';
import { runBulk, type BulkResult } from './bulk.js';
import type { BulkMacroOptions } from './options.js';
import { fetchStates, StateCache, type ControllerState } from './state.js';

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

export interface SetPeerIdsOptions extends BulkMacroOptions {
  /** Id per client, aligned with `clients`; default 1..n in the order given. */
  ids?: readonly number[];
  /** Allow changing an id that is already set to something else (the controller refuses otherwise). */
  force?: boolean;
  /** Forgotten for every controller whose id changes. */
  cache?: StateCache;
}

export interface PeerIdResult {
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
 * checked (whole, unique, 1..licensed controller count) before any write; controllers already
 * holding their id are left alone.
 */
export async function setPeerIds(clients: readonly Vns3Client[], options: SetPeerIdsOptions = {}): Promise<BulkResult<PeerIdResult>> {
  const { ids: given, signal, onEvent, force } = options;
  const ids = given ? [...given] : clients.map((_, i) => i + 1);
  if (ids.length !== clients.length) {
    throw new Vns3ValidationError('ids', given, `needs one id per client (${clients.length}), got ${ids.length}`);
  }
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 1) throw new Vns3ValidationError(`ids[${i}]`, id, 'must be a whole number of at least 1', { controller: clients[i]!.host });
    const first = ids.indexOf(id);
    if (first !== i) throw new Vns3ValidationError(`ids[${i}]`, id, `duplicate of ids[${first}]`, { controller: clients[i]!.host });
  });

  const read = await runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => {
      const peering = await client.get('/peering', { signal: ctx.signal });
      return { current: peering.id ?? undefined, licensed: await licensedControllerCount(client, peering, ctx.signal) };
    },
    { ...options, step: 'peering.ids.read' },
  );
  const byHost = new Map(read.succeeded.map((s) => [s.controller, s.value]));
  for (const [i, client] of clients.entries()) {
    const seen = byHost.get(client.host);
    if (seen && ids[i]! > seen.licensed) {
      throw new Vns3ValidationError(`ids[${i}]`, ids[i], `out of range: the license allows controller ids 1 to ${seen.licensed}`, { controller: client.host });
    }
  }
  const readErrors = new Map(read.failed.map((f) => [f.controller, f.error]));

  return runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => {
      const failure = readErrors.get(client.host);
      if (failure) throw failure;
      const id = ids[ctx.index]!;
      if (byHost.get(client.host)?.current === id) {
        emit(onEvent, { controller: client.host, step: 'peering.id', detail: `peering id already ${id}`, level: 'debug' });
        return { id, changed: false };
      }
      await client.put('/peering/self', { body: { id, ...(force ? { force: true } : {}) }, signal: ctx.signal });
      options.cache?.invalidate(client);
      emit(onEvent, { controller: client.host, step: 'peering.id', detail: `peering id set to ${id}`, data: { id } });
      return { id, changed: true };
    },
    { concurrency: options.concurrency, onEvent, step: 'peering.ids', ...(signal ? { signal } : {}) },
  );
}

// ------------------------------------------------------------------ peerMesh

export type PeerAddressKind = 'private' | 'public' | 'publicDns';

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
export interface PeerMeshChanges {
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
  return value.trim();
}

const sameAddress = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * Peers every controller with every other (both directions) and reconciles what is there: adds
 * missing peers, corrects a changed address or MTU, leaves correct peers alone and removes
 * peers outside the mesh only with `removeExtra`. Peer ids must be set (see `setPeerIds`).
 */
export async function peerMesh(clients: readonly Vns3Client[], options: PeerMeshOptions = {}): Promise<BulkResult<PeerMeshChanges>> {
  const { mtu, signal, onEvent } = options;
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 500 || mtu > 4800)) {
    throw new Vns3ValidationError('mtu', mtu, 'must be a whole number from 500 to 4800');
  }
  const cache = options.cache ?? new StateCache();
  const states = await fetchStates(clients, { ...options, cache });
  const stateOf = new Map(states.succeeded.map((s) => [s.controller, s.value]));
  const stateErrors = new Map(states.failed.map((f) => [f.controller, f.error]));

  // Everything a write depends on is checked before the first write.
  const members: { host: string; peer: DesiredPeer }[] = [];
  const idOwner = new Map<number, string>();
  clients.forEach((client, index) => {
    const state = stateOf.get(client.host);
    if (!state) return;
    if (state.peerId === undefined) {
      stateErrors.set(client.host, new Vns3Error(`peering id of ${client.host} is not set; run setPeerIds first`, { controller: client.host }));
      return;
    }
    const owner = idOwner.get(state.peerId);
    if (owner !== undefined) {
      throw new Vns3ValidationError('clients', state.peerId, `peering id ${state.peerId} is held by both ${owner} and ${client.host}`, { controller: client.host });
    }
    idOwner.set(state.peerId, client.host);
    members.push({ host: client.host, peer: { id: state.peerId, address: addressOf(state, options.address, index) } });
  });
  const skipped = clients.map((c) => c.host).filter((h) => !members.some((m) => m.host === h));

  return runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => {
      const failure = stateErrors.get(client.host);
      if (failure) throw failure;
      const desired = members.filter((m) => m.host !== client.host).map((m) => m.peer);
      return reconcilePeers(client, desired, { ...options, signal: ctx.signal }, skipped.filter((h) => h !== client.host));
    },
    { concurrency: options.concurrency, onEvent, step: 'peering.mesh', ...(signal ? { signal } : {}) },
  );
}

async function reconcilePeers(client: Vns3Client, desired: DesiredPeer[], options: PeerMeshOptions, skipped: string[]): Promise<PeerMeshChanges> {
  const { signal, onEvent, mtu } = options;
  const host = client.host;
  const peering = await client.get('/peering', { signal });
  if (typeof peering.id !== 'number') throw new Vns3Error(`peering id of ${host} is not set; run setPeerIds first`, { controller: host });
  const current = peeringEntries(peering);
  const changes: PeerMeshChanges = { added: [], updated: [], removed: [], unchanged: [], extra: [], skipped };
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
      body: { name: peer.address, ...(mtu !== undefined ? { overlay_mtu: mtu } : {}) },
      signal,
    });
    changes.updated.push(peer.id);
    emit(onEvent, { controller: host, step: 'peering.peer', detail: `updated peer ${peer.id} to ${peer.address}`, data: { id: peer.id } });
  }

  for (const [n, peer] of toAdd.entries()) {
    // Delayed configure: every add but the last leaves peering unfinalized, so all links start together.
    const force = options.delayConfigure ? n === toAdd.length - 1 : undefined;
    await addPeer(client, peer, { mtu, force, signal });
    changes.added.push(peer.id);
    emit(onEvent, { controller: host, step: 'peering.peer', detail: `added peer ${peer.id} at ${peer.address}`, data: { id: peer.id } });
  }
  return changes;
}

/** POST is not idempotent: after an ambiguous failure, re-read and count it as done only if the peer is there. */
async function addPeer(client: Vns3Client, peer: DesiredPeer, o: { mtu?: number; force?: boolean; signal?: AbortSignal }): Promise<void> {
  try {
    await client.post('/peering/peers', {
      body: { id: peer.id, name: peer.address, ...(o.mtu !== undefined ? { overlay_mtu: o.mtu } : {}), ...(o.force !== undefined ? { force: o.force } : {}) },
      signal: o.signal,
    });
  } catch (err) {
    if (!isOutcomeUnknown(err)) throw err;
    const after = peeringEntries(await client.get('/peering', { signal: o.signal })).get(peer.id);
    if (!after || !isConfiguredPeer(after) || !sameAddress(after.address ?? '', peer.address)) throw err;
  }
}
