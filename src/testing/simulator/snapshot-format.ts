import { gunzipSync, gzipSync } from 'node:zlib';
import type { ContainerEntry, ImageEntry, PeerEntry, RouteEntry, SimController } from './controller.js';
import type { FirewallRule, Fwset, RuleGroup, Subtable } from './firewall-state.js';

/**
 * The simulator's snapshot file: gzip over versioned JSON, one section per API area. A real
 * snapshot is an archive of the controller's configuration (license, keyset, peering, routes,
 * firewall, IPsec, plugins); ours carries the same state of the simulated controller, so that a
 * fresh controller that imports it comes back from its reboot as the one that made it.
 *
 * - Deterministic: the same configuration gives the same bytes (no timestamps inside; gzip's header
 *   time is zero), so two snapshots of an unchanged controller have the same checksum.
 * - Extensible: an area adds its state by adding a {@link SnapshotSection} to {@link SECTIONS}. A file
 *   with a section this simulator does not know is still imported (the import log says what was
 *   skipped); a file without a section leaves that area as the importing controller has it.
 * - Atomic: every section is read and checked before any is applied; a bad file changes nothing.
 * - Sensitive: like a real snapshot it holds the license and the keyset token. Store it as a secret.
 */

export const SNAPSHOT_FORMAT = 'vns3-sim-snapshot';
export const SNAPSHOT_VERSION = 1;

/** One area's part of a snapshot. */
export interface SnapshotSection {
  /** Key in the file's `sections`. */
  name: string;
  /** The area's state as plain JSON, or undefined to leave the section out. */
  capture(ctl: SimController): unknown;
  /** Checks a section read from a file and returns what applies it; throws Error (why) for a bad one. */
  read(data: unknown): (ctl: SimController) => void;
}

type Json = Record<string, unknown>;

function object(data: unknown, section: string): Json {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error(`section ${section} is not an object`);
  return data as Json;
}

function list<T>(data: unknown, section: string): T[] {
  if (!Array.isArray(data)) throw new Error(`section ${section} is not a list`);
  return data as T[];
}

const config: SnapshotSection = {
  name: 'config',
  capture: (ctl) => ({ ...ctl.config }),
  read(data) {
    const c = object(data, 'config');
    return (ctl) => {
      for (const key of ['topologyName', 'controllerName', 'ntpHosts'] as const) {
        if (typeof c[key] === 'string') ctl.config[key] = c[key] as string;
      }
    };
  },
};

const license: SnapshotSection = {
  name: 'license',
  capture: (ctl) => (ctl.license.terms ? structuredClone(ctl.license) : undefined),
  read(data) {
    const l = object(data, 'license');
    if (!l.terms || typeof l.finalized !== 'boolean') throw new Error('section license has no terms');
    return (ctl) => void (ctl.license = structuredClone(l) as SimController['license']);
  },
};

const keyset: SnapshotSection = {
  name: 'keyset',
  capture: (ctl) => {
    if (!ctl.keyset.present) return undefined;
    const { present, checksum, uuid, createdAtS, token, source } = ctl.keyset;
    return { present, checksum, uuid, createdAtS, token, source };
  },
  read(data) {
    const k = object(data, 'keyset');
    if (k.present !== true || typeof k.checksum !== 'string') throw new Error('section keyset has no checksum');
    return (ctl) => void (ctl.keyset = { ...(structuredClone(k) as Partial<SimController['keyset']>), present: true, lastStartedAtS: ctl.keyset.lastStartedAtS });
  },
};

const peering: SnapshotSection = {
  name: 'peering',
  capture: (ctl) => ({ id: ctl.peerId ?? null, peers: [...ctl.peers.values()].map(({ id, address, mtu, finalized }) => ({ id, address, mtu, finalized })) }),
  read(data) {
    const p = object(data, 'peering');
    const peers = list<Omit<PeerEntry, 'configuredAt'>>(p.peers, 'peering.peers');
    return (ctl) => {
      ctl.peerId = typeof p.id === 'number' ? p.id : undefined;
      ctl.peers.clear();
      // Configured "now": links come up after the usual delay, as after any reboot.
      for (const peer of peers) ctl.peers.set(peer.id, { ...peer, configuredAt: Date.now() });
    };
  },
};

const routes: SnapshotSection = {
  name: 'routes',
  capture: (ctl) => ({ next_id: ctl.nextRouteId, routes: [...ctl.routes.values()] }),
  read(data) {
    const r = object(data, 'routes');
    const entries = list<RouteEntry>(r.routes, 'routes.routes');
    return (ctl) => {
      ctl.routes.clear();
      for (const route of entries) ctl.routes.set(route.id, { ...route });
      ctl.nextRouteId = typeof r.next_id === 'number' ? r.next_id : entries.reduce((max, e) => Math.max(max, e.id + 1), 1);
    };
  },
};

const firewall: SnapshotSection = {
  name: 'firewall',
  // The one rule list behind v1 and v2 (ids, groups, comments, disabled), and the v2 objects.
  capture: (ctl) => ({
    rules: ctl.firewall.rules.map((r) => ({ ...r, groups: [...r.groups] })),
    groups: [...ctl.firewall.groups.values()].map((g) => ({ ...g })),
    fwsets: [...ctl.firewall.fwsets.values()].map((f) => structuredClone(f)),
    subtables: [...ctl.firewall.subtables.values()].map((t) => structuredClone(t)),
  }),
  read(data) {
    const section = object(data, 'firewall');
    const rules = list<FirewallRule>(section.rules, 'firewall.rules');
    if (!rules.every((r) => r !== null && typeof r === 'object' && typeof r.rule === 'string' && typeof r.id === 'string')) {
      throw new Error('section firewall has a rule without its text or id');
    }
    const groups = list<RuleGroup>(section.groups ?? [], 'firewall.groups');
    const fwsets = list<Fwset>(section.fwsets ?? [], 'firewall.fwsets');
    const subtables = list<Subtable>(section.subtables ?? [], 'firewall.subtables');
    return (ctl) => {
      const fw = ctl.firewall;
      fw.rules = rules.map((r) => ({ ...r, groups: [...(r.groups ?? [])] }));
      fw.groups.clear();
      for (const g of groups) fw.groups.set(g.name, { ...g });
      fw.fwsets.clear();
      for (const f of fwsets) fw.fwsets.set(f.name, structuredClone(f));
      fw.subtables.clear();
      for (const t of subtables) fw.subtables.set(t.name, structuredClone(t));
    };
  },
};

const containers: SnapshotSection = {
  name: 'container_system',
  capture: (ctl) => ({
    network: ctl.containerSystem.network,
    running: ctl.containerSystem.running,
    // The images as definitions (name, source), the containers as what to run: not their run state.
    images: [...ctl.images.values()].filter((i) => !i.failure).map(({ id, name, description, source, createdAt }) => ({ id, name, description, source, createdAt })),
    containers: [...ctl.containers.values()].map(({ id, name, imageId, command, environment, ipAddress, description, createdAt }) => ({
      id, name, imageId, command, environment, ipAddress, description, createdAt,
    })),
  }),
  read(data) {
    const c = object(data, 'container_system');
    if (typeof c.network !== 'string') throw new Error('section container_system has no network');
    const images = list<Omit<ImageEntry, 'readyAt'>>(c.images, 'container_system.images');
    const entries = list<Omit<ContainerEntry, 'running' | 'startedAt' | 'logs'>>(c.containers, 'container_system.containers');
    return (ctl) => {
      ctl.containerSystem = { network: c.network as string, running: c.running !== false };
      ctl.images.clear();
      for (const image of images) ctl.images.set(image.id, { ...image, readyAt: 0 });
      ctl.containers.clear();
      // Containers do not run after a reboot until started again (controller.ts, bootUp).
      for (const e of entries) ctl.containers.set(e.id, { ...e, running: false, startedAt: e.createdAt, logs: [] });
    };
  },
};

/** Every area a snapshot carries, in file order. An area adds its own section here. */
export const SECTIONS: readonly SnapshotSection[] = [config, license, keyset, peering, routes, firewall, containers];

/** The controller's configuration as a snapshot file. */
export function encodeSnapshot(ctl: SimController): Buffer {
  const sections: Json = {};
  for (const section of SECTIONS) {
    const data = section.capture(ctl);
    if (data !== undefined) sections[section.name] = data;
  }
  const doc = { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, vns3_version: '6.0.0', sections };
  return gzipSync(Buffer.from(JSON.stringify(doc), 'utf8'), { level: 9 });
}

/** A file read and checked: what applies it and what the import log says, or why it was refused. */
export type DecodedSnapshot = { ok: true; apply: (ctl: SimController) => void; log: string[] } | { ok: false; log: string[] };

/** Reads a snapshot file; nothing is applied until the caller runs `apply`. */
export function decodeSnapshot(bytes: Buffer): DecodedSnapshot {
  let doc: Json;
  try {
    doc = object(JSON.parse(gunzipSync(bytes).toString('utf8')), 'file');
  } catch {
    return { ok: false, log: ['Not a snapshot file: it is not a gzip archive of a snapshot.'] };
  }
  if (doc.format !== SNAPSHOT_FORMAT) return { ok: false, log: ['Not a snapshot file: unknown format.'] };
  if (typeof doc.version !== 'number' || doc.version > SNAPSHOT_VERSION) {
    return { ok: false, log: [`Snapshot version ${String(doc.version)} is newer than this controller reads (${SNAPSHOT_VERSION}).`] };
  }
  const sections = doc.sections !== null && typeof doc.sections === 'object' ? (doc.sections as Json) : {};
  const appliers: ((ctl: SimController) => void)[] = [];
  const log: string[] = [];
  try {
    for (const section of SECTIONS) {
      if (!(section.name in sections)) continue;
      appliers.push(section.read(sections[section.name]));
      log.push(`restored ${section.name}`);
    }
  } catch (e) {
    return { ok: false, log: [`Invalid snapshot: ${(e as Error).message}.`] };
  }
  const known = new Set(SECTIONS.map((s) => s.name));
  for (const name of Object.keys(sections)) if (!known.has(name)) log.push(`skipped ${name} (not simulated)`);
  return { ok: true, apply: (ctl) => appliers.forEach((a) => a(ctl)), log };
}
