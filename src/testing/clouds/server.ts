import { makeSelfSigned } from '../x509.js';
import { sleep } from '../../abort.js';
import { Vns3ValidationError } from '../../client/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';

/** What both http.Server and https.Server offer for a clean shutdown. */
export interface ClosableServer extends NetServer {
  closeAllConnections(): void;
}

/**
 * Faults shared by the cloud emulators. They are read on every request, so a
 * test can change them while a client is running.
 */
export interface CloudFaults {
  /** Delay before each answer. */
  latencyMs?: number;
  /** Share of requests (0..1) answered with a retryable 5xx instead of being served. */
  failRate?: number;
  /** Accept requests and never answer them (until the emulator stops). */
  hang?: boolean;
  /** Share of requests (0..1) refused as throttled (EC2: 503 RequestLimitExceeded; Azure: 429 with Retry-After). */
  throttleRate?: number;
  /** Limit the faults to these operations (EC2: Action names; Azure: see AzureOperation). */
  operations?: string[];
}

/** One request as a cloud emulator saw it. */
export interface CloudRequestRecord {
  /** EC2 Action or Azure operation name. */
  operation: string;
  method: string;
  path: string;
  /** Parameters that matter to tests; never credentials or tokens. */
  params: Record<string, string>;
  /** HTTP status sent, or 0 while hanging / when the client went away. */
  status: number;
}

/**
 * How many requests an emulator's log keeps by default (the newest): a long-running emulator must
 * not grow without bound. `writes` keeps counting every write.
 */
export const CLOUD_REQUEST_LOG_LIMIT = 1_000;

/** The `requestLogLimit` option, checked: a positive integer (default {@link CLOUD_REQUEST_LOG_LIMIT}). */
export function requestLogLimit(value: number | undefined): number {
  if (value === undefined) return CLOUD_REQUEST_LOG_LIMIT;
  if (!Number.isInteger(value) || value < 1) throw new Vns3ValidationError('requestLogLimit', value, 'must be a positive integer');
  return value;
}

/** Appends a record to a request log, dropping the oldest beyond `limit`. */
export function recordRequest(log: CloudRequestRecord[], record: CloudRequestRecord, limit: number): void {
  log.push(record);
  if (log.length > limit) log.splice(0, log.length - limit);
}

/** What both emulators keep at run time and show through their handles. */
export interface EmulatorState {
  readonly requests: CloudRequestRecord[];
  /** Requests held open by the `hang` fault, destroyed on stop. */
  readonly hanging: Set<ServerResponse>;
  faults: CloudFaults;
  writes: number;
}

/** The options both emulators take for their shared state. */
export interface EmulatorStateOptions {
  faults?: CloudFaults | undefined;
  random?: (() => number) | undefined;
  requestLogLimit?: number | undefined;
}

/**
 * A fresh shared state: empty log and counters, the starting faults copied (the caller's object is
 * never changed). Throws `Vns3ValidationError` for a bad `requestLogLimit`.
 */
export function newEmulatorState(options: EmulatorStateOptions): EmulatorState & { readonly random: () => number; readonly requestLogLimit: number } {
  return {
    random: options.random ?? Math.random,
    requests: [],
    requestLogLimit: requestLogLimit(options.requestLogLimit),
    hanging: new Set(),
    faults: { ...options.faults },
    writes: 0,
  };
}

/** The part of an emulator's handle both clouds share. */
export interface EmulatorHandle {
  faults: CloudFaults;
  readonly writes: number;
  readonly requests: readonly CloudRequestRecord[];
  stop(): Promise<void>;
}

/**
 * A handle over an emulator's state with `extra` (endpoint, credentials, controls) added.
 * `faults` and `writes` are accessors on the returned object itself, not copies, so that a test
 * can change faults while clients run and always reads the current count.
 */
export function emulatorHandle<E extends object>(state: EmulatorState, server: ClosableServer, extra: E): EmulatorHandle & E {
  const handle: EmulatorHandle = {
    get faults() {
      return state.faults;
    },
    set faults(faults: CloudFaults) {
      state.faults = faults;
    },
    get writes() {
      return state.writes;
    },
    requests: state.requests,
    stop: () => closeServer(server, state.hanging),
  };
  return Object.assign(handle, extra);
}

export type FaultOutcome = 'serve' | 'fail' | 'hang' | 'throttle';

/** Decides what a request suffers, after waiting out any latency. */
export async function applyFaults(
  faults: CloudFaults,
  operation: string,
  random: () => number,
): Promise<FaultOutcome> {
  if (faults.operations && !faults.operations.includes(operation)) return 'serve';
  if (faults.latencyMs && faults.latencyMs > 0) await sleep(faults.latencyMs);
  if (faults.hang) return 'hang';
  if (faults.throttleRate && random() < faults.throttleRate) return 'throttle';
  if (faults.failRate && random() < faults.failRate) return 'fail';
  return 'serve';
}

export function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // An emulator only ever sees small bodies; a huge one is a bug in the caller.
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function listenOnLoopback(server: NetServer): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Closes the server and every socket, including keep-alive ones and requests
 * held open by the `hang` fault, which `close()` alone would wait for forever.
 */
export async function closeServer(server: ClosableServer, hanging: Set<ServerResponse>): Promise<void> {
  for (const res of hanging) res.destroy();
  hanging.clear();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** Deterministic ids in the style of the cloud (`i-` + 17 hex digits and the like). */
export function idFactory(): (prefix: string, width?: number) => string {
  let counter = 0;
  return (prefix, width = 17) => {
    counter += 1;
    return `${prefix}${counter.toString(16).padStart(width, '0')}`;
  };
}

/** A self-signed certificate valid for IP 127.0.0.1 (and localhost), so hostname checks pass. */
export async function loopbackCertificate(): Promise<{ key: string; cert: string }> {
  const pems = makeSelfSigned({ commonName: '127.0.0.1', ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  return { key: pems.key, cert: pems.cert };
}
