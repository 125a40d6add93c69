/**
 * Configuration backups: `snapshotControllers` writes one snapshot file per controller into a
 * folder, each with a SHA-256 checksum file beside it; `restoreSnapshot` imports such files into
 * fresh controllers and waits out the reboot that applies them. The controller's own SHA-1 of the
 * file is checked against the bytes downloaded, so a truncated download is never written as a backup.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Vns3ApiError, Vns3Error, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { runBulk } from './core/bulk.js';
import { hasApiMessage, isTransientFailure, Vns3StepError, wrapStep } from './core/errors.js';
import { Attempts, reconcileLoop } from './core/reconcile.js';
import type { BulkMacroOptions, BulkResult } from './core/types.js';
import { checkClients, checkText } from './core/validate.js';
import { waitForApi, type RebootWaitOptions } from './core/wait-for-api.js';

/** How `snapshotControllers` runs. */
export interface SnapshotControllersOptions extends BulkMacroOptions {
  /** Delete each snapshot from its controller once written locally (controllers keep a limited number); default false. */
  deleteFromController?: boolean;
  /** Limit of each request attempt (the download included); default the client's. */
  requestTimeoutMs?: number;
  /** The time in the file names; default now (one time for the whole run). */
  now?: Date;
}

/** One controller's backup as written. */
export interface SnapshotFileResult {
  host: string;
  /** The snapshot's name on the controller. */
  snapshot: string;
  /** Absolute path of the file written. */
  file: string;
  /** Absolute path of its checksum file (`sha256sum` format). */
  checksumFile: string;
  bytes: number;
  sha256: string;
  /** The controller's own checksum of the file, checked against the bytes downloaded. */
  sha1: string;
}

/** One import to make: a snapshot file onto a (fresh) controller. */
export interface RestoreTarget {
  client: Vns3Client;
  /** Path of the snapshot file. */
  file: string;
  /** Expected SHA-256 (hex); default: read from `<file>.sha256` when that file exists. */
  sha256?: string;
}

/** How `restoreSnapshot` runs. */
export interface RestoreSnapshotOptions extends BulkMacroOptions {
  /** How the reboot after the import is waited out (default: up to 10 minutes). */
  reboot?: RebootWaitOptions;
  requestTimeoutMs?: number;
}

/** What an import did on one controller. */
export interface RestoreResult {
  host: string;
  file: string;
  /** The controller's import log. */
  log: string[];
  /** The reboot as `waitForApi` saw it. */
  downMs: number;
}

/** `127.0.0.1:8443` → `127.0.0.1_8443`; anything outside [A-Za-z0-9._-] becomes `_`. */
const fileSafe = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, '_');
/** `20261201T225401Z`: sorts by time, no characters a file system refuses. */
const stamp = (date: Date): string => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
const sha = (algorithm: 'sha1' | 'sha256', bytes: Uint8Array): string => createHash(algorithm).update(bytes).digest('hex');

/** Writes next to the final name, then renames: a crash never leaves half a backup under the real name. */
async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const partial = `${path}.partial`;
  await writeFile(partial, data);
  await rename(partial, path);
}

/** The file through openapi-fetch with a binary `parseAs`: the typed verbs read bodies as text. */
async function download(client: Vns3Client, name: string, call: { signal?: AbortSignal }): Promise<Uint8Array> {
  const { data, error, response } = await client.raw.GET('/snapshots/{snapshot_name}', {
    params: { path: { snapshot_name: name } },
    parseAs: 'arrayBuffer',
    headers: { accept: 'application/octet-stream' },
    signal: call.signal,
  });
  if (error !== undefined || !data) {
    throw new Vns3ApiError({ status: response.status, statusText: response.statusText, method: 'GET', path: `/snapshots/${name}`, host: client.host, body: error });
  }
  return new Uint8Array(data);
}

/** One controller: create (under a name we choose, so that a lost reply is found by reading), download, check, write. */
async function snapshotOne(client: Vns3Client, folder: string, when: Date, options: SnapshotControllersOptions, signal?: AbortSignal): Promise<SnapshotFileResult> {
  const host = client.host;
  const step = 'snapshot.save';
  const call = { signal, timeoutMs: options.requestTimeoutMs };
  const name = `snapshot_${stamp(when)}_vns3sdk`;
  const attempts = new Attempts(options.retryBudget, signal);
  try {
    return await reconcileLoop(host, step, async ({ progress }) => {
      let listed = (await client.get('/snapshots', call)).snapshots[name];
      if (!listed) {
        emit(options.onEvent, { controller: host, step, detail: `creating snapshot ${name}` });
        // Not re-sent blindly: the next attempt reads the list first and finds it if it was made.
        const made = await client.post('/snapshots', { body: { name }, retry: false, ...call });
        listed = made[name];
        progress();
      }
      if (!listed) throw new Vns3Error(`the controller did not answer snapshot ${name}`, { controller: host });
      const bytes = await download(client, name, call);
      const sha1 = sha('sha1', bytes);
      // A short read would otherwise be written as a backup and found out only at restore time.
      if (bytes.length !== listed.size || sha1 !== listed.sha1_checksum) {
        throw new Vns3Error(`snapshot ${name} downloaded as ${bytes.length} bytes with SHA-1 ${sha1}; the controller lists ${listed.size} bytes, ${listed.sha1_checksum}`, { controller: host });
      }
      const file = join(folder, `${fileSafe(host)}_${stamp(when)}.snapshot`);
      const sha256 = sha('sha256', bytes);
      await writeAtomically(file, bytes);
      await writeAtomically(`${file}.sha256`, `${sha256}  ${basename(file)}\n`);
      emit(options.onEvent, { controller: host, step, detail: `wrote ${basename(file)} (${bytes.length} bytes, sha256 ${sha256.slice(0, 12)}…)`, data: { file, bytes: bytes.length, sha256 } });
      if (options.deleteFromController) {
        await client.delete('/snapshots/{snapshot_name}', { params: { path: { snapshot_name: name } }, ...call }).catch((e: unknown) => {
          if (!(e instanceof Vns3ApiError && e.status === 404)) throw e;
        });
      }
      return { host, snapshot: name, file, checksumFile: `${file}.sha256`, bytes: bytes.length, sha256, sha1 };
    }, { attempts, signal, onEvent: options.onEvent });
  } finally {
    attempts.dispose();
  }
}

/**
 * Takes a snapshot on every controller and writes it into `folder` (created if missing) as
 * `<host>_<YYYYMMDDTHHMMSSZ>.snapshot`, with `<file>.sha256` beside it in `sha256sum` format.
 * Each download is checked against the controller's own size and SHA-1. Throws
 * Vns3ValidationError for bad clients or folder before any request; per-controller failures
 * (Vns3StepError) are in `failed`. The files hold the license and keyset: store them as secrets.
 */
export async function snapshotControllers(clients: readonly Vns3Client[], folder: string, options: SnapshotControllersOptions = {}): Promise<BulkResult<SnapshotFileResult>> {
  checkClients(clients);
  const dir = resolve(checkText('folder', folder, { max: 4096 }));
  const when = options.now ?? new Date();
  if (!(when instanceof Date) || Number.isNaN(when.getTime())) throw new Vns3ValidationError('now', options.now, 'must be a valid Date');
  await mkdir(dir, { recursive: true });
  const step = 'snapshot.save';
  return runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => {
      try {
        return await snapshotOne(client, dir, when, options, ctx.signal);
      } catch (e) {
        throw wrapStep(client.host, step, e, ctx.signal);
      }
    },
    { ...options, step },
  );
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Reads every file and checks its checksum before any controller is touched. */
async function readTargets(targets: readonly RestoreTarget[]): Promise<Uint8Array[]> {
  if (!Array.isArray(targets) || targets.length === 0) throw new Vns3ValidationError('targets', targets, 'must be a non-empty list of { client, file }');
  checkClients(targets.map((t) => t?.client), 'targets[].client');
  return Promise.all(
    targets.map(async (t, i) => {
      const field = `targets[${i}].file`;
      const path = checkText(field, t.file, { max: 4096 });
      const bytes = await readFile(path).catch(() => {
        throw new Vns3ValidationError(field, path, 'cannot be read');
      });
      let expected = t.sha256?.toLowerCase();
      if (expected === undefined) {
        const sidecar = await readFile(`${path}.sha256`, 'utf8').catch(() => undefined);
        expected = sidecar?.trim().split(/\s+/)[0]?.toLowerCase();
      }
      if (expected !== undefined && !SHA256.test(expected)) throw new Vns3ValidationError(`targets[${i}].sha256`, expected, 'must be 64 hex digits');
      if (expected !== undefined && sha('sha256', bytes) !== expected) {
        throw new Vns3ValidationError(field, path, `does not match its SHA-256 (${expected.slice(0, 12)}…): the file changed or is truncated`);
      }
      return new Uint8Array(bytes);
    }),
  );
}

/** A controller that already has a keyset is part of a topology: the import would be refused (403). */
async function requireFresh(client: Vns3Client, call: { signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
  const config = await client.get('/config', call);
  if (!config.licensed) return;
  const keyset = await client.get('/keyset', call);
  if (keyset.keyset_present) {
    throw new Vns3Error('has a keyset already: a snapshot restores only onto a fresh controller (the import would be refused)', { controller: client.host });
  }
}

/**
 * Imports each snapshot file into its controller (`PUT /snapshots/running_config`, the file's
 * bytes as `text/plain` as the reference says), then waits through the reboot that applies it
 * until the API answers again. Every file is read and checked against its SHA-256 first (`sha256`,
 * or `<file>.sha256` when present): Vns3ValidationError before any request. A controller that
 * already has a keyset is refused without a write; that and every other per-controller failure
 * (Vns3StepError) is in `failed`.
 */
export async function restoreSnapshot(targets: readonly RestoreTarget[], options: RestoreSnapshotOptions = {}): Promise<BulkResult<RestoreResult>> {
  const files = await readTargets(targets);
  const step = 'snapshot.restore';
  return runBulk(
    targets,
    (t) => t.client.host,
    async (target, ctx) => {
      const { client } = target;
      const host = client.host;
      const call = { signal: ctx.signal, timeoutMs: options.requestTimeoutMs };
      try {
        await requireFresh(client, call);
        emit(options.onEvent, { controller: host, step, detail: `importing ${basename(target.file)}` });
        const reply = await importFile(client, files[ctx.index]!, call);
        // The reference names no status values; a controller that refused the file says so in them.
        if (/fail|invalid|error/i.test(reply.snapshot ?? '')) {
          throw new Vns3Error(`the controller did not take the snapshot: ${(reply.log_lines ?? [reply.snapshot]).join('; ')}`, { controller: host });
        }
        emit(options.onEvent, { controller: host, step, detail: 'imported; waiting for the reboot' });
        const wait = await waitForApi(client, { timeoutMs: 600_000, ...options.reboot, expectReboot: true, signal: ctx.signal, onEvent: options.onEvent });
        emit(options.onEvent, { controller: host, step, detail: `back after the reboot (down ${wait.downMs} ms)` });
        return { host, file: resolve(target.file), log: reply.log_lines ?? [], downMs: wait.downMs };
      } catch (e) {
        throw e instanceof Vns3StepError ? e : wrapStep(host, step, e, ctx.signal);
      }
    },
    { ...options, step },
  );
}

/**
 * One import, sent once: the controller reboots after it, so a lost reply is judged by asking it
 * (a licensed controller afterwards means the import landed) rather than by sending it again.
 */
async function importFile(client: Vns3Client, bytes: Uint8Array, call: { signal?: AbortSignal; timeoutMs?: number }): Promise<{ snapshot?: string; log_lines?: string[] }> {
  try {
    const { data, error, response } = await client.raw.PUT('/snapshots/running_config', {
      // The reference types the body as text (`format: binary`); the bytes go as they are.
      body: bytes as unknown as string,
      bodySerializer: (b) => b,
      headers: { 'content-type': 'text/plain' },
      signal: call.signal,
    });
    if (error !== undefined || !data) {
      throw new Vns3ApiError({ status: response.status, statusText: response.statusText, method: 'PUT', path: '/snapshots/running_config', host: client.host, body: error });
    }
    return data.response;
  } catch (e) {
    if (call.signal?.aborted || !isTransientFailure(e) || hasApiMessage(e, 'Keyset present - snapshot import not allowed')) throw e;
    await waitForApi(client, { timeoutMs: 600_000, signal: call.signal });
    if ((await client.get('/config', call)).licensed) return { snapshot: 'imported', log_lines: ['reply lost; the controller came back licensed'] };
    throw e;
  }
}
