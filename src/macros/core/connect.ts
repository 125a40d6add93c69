/**
 * Clients for many controllers from one description, and a first look at
 * each. Everything is validated before a single client (or socket) exists, so
 * a typo in the fifth host does not leave four dispatchers open.
 */
import { createClient, normalizeFingerprint, parseControllerAddress, Vns3ValidationError, type Vns3Client, type Vns3ClientOptions } from '../../client/index.js';
import { emit } from '../../events.js';
import { runBulk } from './bulk.js';
import type { BulkMacroOptions, BulkResult } from './types.js';
import { checkClients, hasControl, redactUrl } from './validate.js';

/** Client options shared by every controller; a per-host spec overrides them. */
export type ConnectControllersOptions = Omit<Vns3ClientOptions, 'host'>;

/** A host string, or a host with its own credentials and TLS trust. */
export type ControllerSpec =
  | string
  | ({ host: string } & Pick<ConnectControllersOptions, 'password' | 'apiToken' | 'ca' | 'fingerprint256' | 'insecure' | 'username' | 'timeoutMs'>);

const SPEC_KEYS = new Set(['host', 'password', 'apiToken', 'ca', 'fingerprint256', 'insecure', 'username', 'timeoutMs']);

function validateSpec(spec: unknown, index: number, common: ConnectControllersOptions): Vns3ClientOptions {
  const field = (name: string): string => `specs[${index}]${name ? `.${name}` : ''}`;
  let own: Record<string, unknown>;
  if (typeof spec === 'string') {
    own = { host: spec };
  } else if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) {
    own = spec as Record<string, unknown>;
    for (const key of Object.keys(own)) {
      if (!SPEC_KEYS.has(key)) throw new Vns3ValidationError(field(key), key, 'is not a per-controller option');
    }
  } else {
    throw new Vns3ValidationError(field(''), spec, 'must be a host string or { host, … }');
  }
  if (typeof own.host !== 'string') throw new Vns3ValidationError(field('host'), own.host, 'must be a string');
  let host: string;
  try {
    host = parseControllerAddress(own.host).host;
  } catch (e) {
    const reason = e instanceof Vns3ValidationError ? e.reason : 'is not a valid host';
    throw new Vns3ValidationError(field('host'), redactUrl(own.host), reason);
  }
  const merged: Record<string, unknown> = { ...common };
  for (const [k, v] of Object.entries(own)) if (v !== undefined) merged[k] = v;
  for (const key of ['password', 'apiToken'] as const) {
    const v = merged[key];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0 || hasControl(v))) {
      throw new Vns3ValidationError(key in own ? field(key) : key, v, 'must be a non-empty string without control characters', { secret: true, controller: host });
    }
  }
  if (merged.password === undefined && merged.apiToken === undefined) {
    throw new Vns3ValidationError(field('password'), undefined, 'a password or an apiToken is needed (per host or in the common options)', { controller: host });
  }
  if (merged.fingerprint256 !== undefined) {
    try {
      normalizeFingerprint(merged.fingerprint256 as string);
    } catch {
      throw new Vns3ValidationError('fingerprint256' in own ? field('fingerprint256') : 'fingerprint256', merged.fingerprint256, 'must be a SHA-256 fingerprint', { controller: host });
    }
  }
  if (merged.insecure !== undefined && typeof merged.insecure !== 'boolean') {
    throw new Vns3ValidationError('insecure' in own ? field('insecure') : 'insecure', merged.insecure, 'must be true or false', { controller: host });
  }
  if (merged.timeoutMs !== undefined && !(typeof merged.timeoutMs === 'number' && Number.isFinite(merged.timeoutMs) && merged.timeoutMs > 0)) {
    throw new Vns3ValidationError('timeoutMs' in own ? field('timeoutMs') : 'timeoutMs', merged.timeoutMs, 'must be a positive number of milliseconds', { controller: host });
  }
  return merged as unknown as Vns3ClientOptions;
}

/**
 * One client per spec, the common options merged under each. Throws Vns3ValidationError naming
 * `specs[i].field` (a bad host, a missing credential, a duplicate controller) before creating anything.
 */
export function connectControllers(specs: readonly ControllerSpec[], options: ConnectControllersOptions = {}): Vns3Client[] {
  const common = options;
  if (!Array.isArray(specs) || specs.length === 0) throw new Vns3ValidationError('specs', specs, 'must be a non-empty list of hosts');
  if (common === null || typeof common !== 'object') throw new Vns3ValidationError('common', common, 'must be an options object');
  if ('host' in common) throw new Vns3ValidationError('common.host', (common as { host?: unknown }).host, 'hosts go in specs');
  const perHost = specs.map((s, i) => validateSpec(s, i, common));
  const seen = new Map<string, number>();
  perHost.forEach((o, i) => {
    const host = parseControllerAddress(o.host).host;
    const first = seen.get(host);
    if (first !== undefined) throw new Vns3ValidationError(`specs[${i}].host`, o.host, `is the same controller as specs[${first}]`);
    seen.set(host, i);
  });
  const clients: Vns3Client[] = [];
  try {
    for (const o of perHost) clients.push(createClient(o));
  } catch (e) {
    for (const c of clients) void c.close().catch(() => undefined);
    throw e;
  }
  return clients;
}

/** What `checkConnectivity` learned from one controller. */
export interface CheckConnectivityResult {
  host: string;
  vns3Version: string;
  licensed: boolean;
  /** Round trip of `GET /config`, retries included. */
  latencyMs: number;
}

/** How `checkConnectivity` asks. */
export interface CheckConnectivityOptions extends BulkMacroOptions {
  /** Limit of each request attempt; default the client's. */
  requestTimeoutMs?: number;
}

/**
 * `GET /config` on every controller in parallel: who answers, which version, licensed or not. A
 * controller that does not answer is reported in `failed`; throws only Vns3ValidationError for a
 * bad `concurrency`.
 */
export function checkConnectivity(clients: readonly Vns3Client[], options: CheckConnectivityOptions = {}): Promise<BulkResult<CheckConnectivityResult>> {
  checkClients(clients);
  return runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => {
      const started = performance.now();
      const config = await client.get('/config', { signal: ctx.signal, timeoutMs: options.requestTimeoutMs });
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const result = { host: client.host, vns3Version: config.vns3_version ?? '', licensed: config.licensed === true, latencyMs };
      emit(options.onEvent, { controller: client.host, step: 'connect.check', detail: `VNS3 ${result.vns3Version}, ${result.licensed ? 'licensed' : 'not licensed'}, ${latencyMs} ms`, data: { ...result } });
      return result;
    },
    { ...options, step: 'connect.check' },
  );
}
