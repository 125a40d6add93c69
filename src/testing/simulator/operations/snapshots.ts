import type { SimController } from '../controller.js';
import { MESSAGES, SimApiError, badRequest } from '../errors.js';
import { decodeSnapshot, encodeSnapshot } from '../snapshot-format.js';
import { MAX_SNAPSHOTS, type SnapshotFile } from '../snapshot-store.js';
import { type OperationTable, fileReply, nowS } from './types.js';

/**
 * Snapshots: files of the controller's configuration (see ../snapshot-format.ts), listed,
 * downloaded, deleted, and imported into a fresh controller, which then reboots with them.
 */

const SNAPSHOT_MISSING = 'snapshot not found';
const notFound = (): SimApiError => new SimApiError(404, SNAPSHOT_MISSING, 'APINotFoundError');
const notAllowed = (message: string): SimApiError => new SimApiError(403, message, 'OperationNotAllowedError');

function requireLicensed(ctl: SimController): void {
  if (!ctl.licensed) throw new SimApiError(403, MESSAGES.mustBeLicensed, 'PrerequisiteError');
}

/** `2016-11-22T16:23:11+00:00`, the create reply's spelling in the reference. */
const timeText = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');

function entry(file: SnapshotFile): Record<string, unknown> {
  return { sha1_checksum: file.sha1, created_at: timeText(file.createdAtS), created_at_i: file.createdAtS, size: file.bytes.length, status: 'finished_ok' };
}

function listing(ctl: SimController): Record<string, unknown> {
  const snapshots: Record<string, unknown> = {};
  for (const file of ctl.snapshots.list()) snapshots[file.name] = entry(file);
  return { latest_snapshot: ctl.snapshots.latest()?.name, snapshots };
}

/**
 * The reference's convention, `snapshot_<YYYYMMDD>_<epoch seconds>_<public IP>`; a second snapshot
 * in the same second gets `_2`, `_3`… (ours: the name must stay unique).
 */
function defaultName(ctl: SimController, seconds: number): string {
  const day = new Date(seconds * 1000).toISOString().slice(0, 10).replace(/-/g, '');
  const base = `snapshot_${day}_${seconds}_${ctl.identity.publicIp}`;
  let name = base;
  for (let n = 2; ctl.snapshots.has(name); n++) name = `${base}_${n}`;
  return name;
}

export const snapshotOperations: OperationTable = {
  'GET /snapshots': ({ ctl }) => {
    requireLicensed(ctl);
    return listing(ctl);
  },

  'POST /snapshots': ({ ctl, body }) => {
    requireLicensed(ctl);
    if (ctl.snapshots.size >= MAX_SNAPSHOTS) throw notAllowed('Maximum number of snapshots reached.');
    const seconds = nowS();
    const requested = (body as { name?: string }).name;
    if (requested !== undefined && ctl.snapshots.has(requested)) throw badRequest(`Snapshot ${requested} already exists.`);
    const name = requested ?? defaultName(ctl, seconds);
    // `async` is accepted and the file made at once: the reply is the finished snapshot either way.
    const file = ctl.snapshots.add(name, encodeSnapshot(ctl), seconds);
    return { [name]: entry(file) };
  },

  'GET /snapshots/{snapshot_name}': ({ ctl, params }) => {
    requireLicensed(ctl);
    const file = ctl.snapshots.get(params.snapshot_name ?? '');
    if (!file) throw notFound();
    return fileReply('application/octet-stream', file.bytes);
  },

  'DELETE /snapshots/{snapshot_name}': ({ ctl, params }) => {
    requireLicensed(ctl);
    if (!ctl.snapshots.delete(params.snapshot_name ?? '')) throw notFound();
    return listing(ctl);
  },

  'PUT /snapshots/running_config': ({ ctl, rawBody }) => {
    // A controller with a keyset is already part of a topology: a snapshot would replace it.
    if (ctl.keyset.present || ctl.keyset.attempt) throw notAllowed('Keyset present - snapshot import not allowed');
    const decoded = decodeSnapshot(rawBody);
    if (!decoded.ok) return { snapshot: 'failed', log_lines: decoded.log };
    decoded.apply(ctl);
    // As a real controller: the configuration takes effect through a reboot once the reply is out.
    ctl.rebootAfterReply = true;
    return { snapshot: 'imported', log_lines: [...decoded.log, 'rebooting'] };
  },
};
