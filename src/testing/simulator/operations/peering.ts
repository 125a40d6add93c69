import type { PeerEntry, SimController } from '../controller.js';
import { MESSAGES, badRequest } from '../errors.js';
import type { OperationTable } from './types.js';

/**
 * A link is up only when both sides have configured each other under the right ids, share a
 * keyset, can reach each other over the fabric, and `peerLinkUpMs` has passed since the last of
 * those became true.
 */
export function peerLinkUp(ctl: SimController, peer: PeerEntry): boolean {
  const other = ctl.world.controllerAt(peer.address, ctl);
  if (!other || other === ctl || other.peerId !== peer.id || ctl.peerId === undefined) return false;
  if (!ctl.keyset.present || !other.keyset.present || ctl.keyset.checksum !== other.keyset.checksum) return false;
  const back = other.peers.get(ctl.peerId);
  if (!back || !peer.finalized || !back.finalized || ctl.world.controllerAt(back.address, other) !== ctl) return false;
  const since = Math.max(peer.configuredAt, back.configuredAt, ctl.world.fabric.pathSince(ctl, other));
  return Date.now() >= since + ctl.world.timings.peerLinkUpMs;
}

/** Controllers reachable through the overlay from `ctl` (over up links, transitively), nearest first. */
export function overlayNeighbours(ctl: SimController): SimController[] {
  const seen = new Set<SimController>([ctl]);
  const order: SimController[] = [];
  const queue: SimController[] = [ctl];
  while (queue.length > 0) {
    const node = queue.shift() as SimController;
    for (const peer of node.peers.values()) {
      if (!peerLinkUp(node, peer)) continue;
      const other = node.world.controllerAt(peer.address, node);
      if (other && !seen.has(other)) {
        seen.add(other);
        order.push(other);
        queue.push(other);
      }
    }
  }
  return order;
}

export function peeringView(ctl: SimController): Record<string, unknown> {
  const total = ctl.license.terms?.controllers ?? 0;
  const managers: Record<string, Record<string, unknown>> = {};
  for (let id = 1; id <= total; id++) {
    if (id === ctl.peerId) {
      managers[String(id)] = { id, self: true, overlay_ipaddress: ctl.identity.overlayIp };
      continue;
    }
    const peer = ctl.peers.get(id);
    if (!peer) {
      managers[String(id)] = { id, not_set: true };
      continue;
    }
    const reachable = peerLinkUp(ctl, peer);
    const other = reachable ? ctl.world.controllerAt(peer.address, ctl) : undefined;
    managers[String(id)] = {
      id,
      address: peer.address,
      reachable,
      mtu: peer.mtu,
      overlay_ipaddress: other?.identity.overlayIp,
    };
  }
  // Older versions call the map `managers`, newer ones `controllers`; existing clients read either.
  return { id: ctl.peerId ?? null, peered: ctl.peerId !== undefined && ctl.peers.size > 0, managers, controllers: managers };
}

function peerIdParam(ctl: SimController, raw: unknown, field = 'id'): number {
  const id = typeof raw === 'string' ? Number(raw) : (raw as number);
  const max = ctl.license.terms?.controllers ?? 0;
  if (!Number.isInteger(id) || id < 1 || id > max) throw badRequest(`Invalid ${field}: must be an integer from 1 to ${max}.`);
  return id;
}

/**
 * `force` (default true) finalizes the peering configuration: every peer added or changed with
 * `force: false` since the last finalization starts its link now (the reference's "reconfigure").
 */
function finalizePending(ctl: SimController, force: boolean | undefined): void {
  if (force === false) return;
  const now = Date.now();
  for (const peer of ctl.peers.values()) {
    if (!peer.finalized) ctl.peers.set(peer.id, { ...peer, finalized: true, configuredAt: now });
  }
}

function requirePeerable(ctl: SimController): void {
  if (!ctl.licensed) throw badRequest(MESSAGES.mustBeLicensed);
  if (!ctl.keyset.present) throw badRequest(MESSAGES.keysetRequiredForPeering);
}

export const peeringOperations: OperationTable = {
  'GET /peering': ({ ctl }) => peeringView(ctl),

  'PUT /peering/self': ({ ctl, body }) => {
    requirePeerable(ctl);
    const b = body as { id: number; force?: boolean };
    const id = peerIdParam(ctl, b.id);
    if (ctl.peerId !== undefined && ctl.peerId !== id && !b.force) {
      throw badRequest(`Peering id is already set to ${ctl.peerId}; use force to change it.`);
    }
    if (ctl.peers.has(id)) throw badRequest(`Peer ${id} is configured as a peer; remove it before taking its id.`);
    ctl.peerId = id;
    return peeringView(ctl);
  },

  'POST /peering/peers': ({ ctl, body }) => {
    requirePeerable(ctl);
    if (ctl.peerId === undefined) throw badRequest('Peering id of this controller must be set first.');
    const b = body as { id: number; name: string; overlay_mtu?: string | number; force?: boolean };
    const id = peerIdParam(ctl, b.id);
    if (id === ctl.peerId) throw badRequest('Cannot peer a controller with itself.');
    if (ctl.peers.has(id)) throw badRequest(`Peer ${id} already exists.`);
    if (!b.name?.trim()) throw badRequest('Peer name cannot be blank.');
    ctl.peers.set(id, { id, address: b.name.trim(), mtu: String(b.overlay_mtu ?? 1500), configuredAt: Date.now(), finalized: false });
    finalizePending(ctl, b.force);
    return peeringView(ctl);
  },

  'PUT /peering/peers/{peer_id}': ({ ctl, params, body }) => {
    requirePeerable(ctl);
    const id = peerIdParam(ctl, params.peer_id, 'peer_id');
    const peer = ctl.peers.get(id);
    // 400, not 404: the reference lists 400 (and no 404) for PUT /peering/peers/{peer_id}.
    if (!peer) throw badRequest(`Peer ${id} not found.`);
    const b = body as { name?: string; overlay_mtu?: string | number; force?: boolean };
    const address = b.name?.trim() || peer.address;
    const mtu = b.overlay_mtu !== undefined ? String(b.overlay_mtu) : peer.mtu;
    if (address !== peer.address || mtu !== peer.mtu) ctl.peers.set(id, { id, address, mtu, configuredAt: Date.now(), finalized: false });
    finalizePending(ctl, b.force);
    return peeringView(ctl);
  },

  'DELETE /peering/peers/{peer_id}': ({ ctl, params }) => {
    const id = Number(params.peer_id);
    // 400, not 404: the reference lists 400 (and no 404) for DELETE /peering/peers/{peer_id}.
    if (!ctl.peers.delete(id)) throw badRequest(`Peer ${params.peer_id} not found.`);
    return peeringView(ctl);
  },
};
