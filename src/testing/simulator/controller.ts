import { inspect } from 'node:util';
import { AccessState } from './access-state.js';
import type { SimCertificate } from './certs.js';
import type { Fabric, FabricNode } from './fabric.js';
import { FirewallState } from './firewall-state.js';
import type { ControllerIdentity } from './identity.js';
import { IpsecState } from './ipsec-state.js';
import type { LicenseTerms } from './license.js';
import { SnapshotStore } from './snapshot-store.js';
import { OverlayState } from './operations/overlay-state.js';
import { SystemAdminState } from './operations/status-state.js';
import type { SimTimings } from './timings.js';

export interface RouteEntry {
  id: number;
  cidr: string;
  description: string;
  interface: string;
  gateway: string;
  advertise: boolean;
  metric: number;
  enabled: boolean;
  table: string;
  tunnel?: number;
}

export interface PeerEntry {
  id: number;
  address: string;
  mtu: string;
  configuredAt: number;
  /** `force: false` leaves a peer unfinalized until a later call with `force` (the default) finalizes all. */
  finalized: boolean;
}

export interface ImageEntry {
  id: string;
  name: string;
  description: string;
  source: string;
  createdAt: string;
  /** When the background import finishes; until then the image is importing. */
  readyAt: number;
  /** Set when the import will fail / has failed. */
  failure?: string;
}

export interface ContainerEntry {
  id: string;
  name: string;
  imageId: string;
  command: string;
  environment: string;
  ipAddress: string;
  description: string;
  running: boolean;
  createdAt: string;
  startedAt: string;
  finishedAt?: string;
  logs: string[];
}

export interface KeysetAttempt {
  kind: 'generate' | 'fetch';
  startedAtS: number;
  completesAt: number;
  source?: string;
  /** Kept only to compare with the source's; never logged or returned. */
  token: string;
}

export interface KeysetState {
  present: boolean;
  checksum?: string;
  uuid?: string;
  createdAtS?: number;
  token?: string;
  source?: string;
  attempt?: KeysetAttempt;
  /** The newest `started_at_i` handed out; every new attempt gets a strictly larger one. */
  lastStartedAtS: number;
}

/** Runtime faults of one controller, changed through the simulator's fault API. */
export interface FaultSettings {
  /** Added to every reply's delay. */
  latencyMs: number;
  /** Probability (0–1) that a request's connection is destroyed without an answer. */
  dropRate: number;
  /** Probability (0–1) that a request is answered 503. */
  errorRate: number;
  /** Probability (0–1) that a request is never answered (until the simulator stops). */
  hangRate: number;
  /**
   * Probability (0–1) that a request is applied but its reply is lost: the connection is cut where
   * the reply would go, so the client cannot tell whether the write happened (outcome unknown).
   */
  dropReplyRate: number;
  /** The next N requests are dropped / answered 503 / left hanging / applied with the reply lost: deterministic faults for tests. */
  dropNext: number;
  errorNext: number;
  hangNext: number;
  dropReplyNext: number;
}

/** One request as the simulated controller saw it (never its headers or body). */
export interface RequestLogEntry {
  method: string;
  /** The path without the query, `/api/…`. */
  path: string;
  /** The status answered, or what a fault did to the request instead. */
  status: number | 'dropped' | 'hung' | 'refused' | 'reply-dropped';
  /** Epoch milliseconds of arrival. */
  at: number;
  durationMs: number;
}

export type Phase = 'up' | 'rebooting' | 'starting' | 'crashed' | 'stopped';

/** What the HTTPS layer offers the controller so that a reboot or crash can close and reopen it. */
export interface Listener {
  open(): Promise<void>;
  /** Closes the listener and drops every live connection. */
  close(): Promise<void>;
}

export interface SimWorld {
  fabric: Fabric;
  timings: SimTimings;
  /** Every controller of the simulation, to resolve fabric nodes back to controllers. */
  controllerAt(address: string, from: SimController): SimController | undefined;
  /** Timers owned by the simulation, cleared on stop. */
  later(ms: number, fn: () => void): void;
  random(): number;
  /** How many entries each controller's request log keeps (the newest). */
  requestLogLimit: number;
}

export function emptyFaults(): FaultSettings {
  return { latencyMs: 0, dropRate: 0, errorRate: 0, hangRate: 0, dropReplyRate: 0, dropNext: 0, errorNext: 0, hangNext: 0, dropReplyNext: 0 };
}

/**
 * How many requests a controller's log keeps by default (the newest): a long-running `vns3-sim` must
 * not grow without bound. `writes` keeps counting every write.
 */
export const REQUEST_LOG_LIMIT = 1_000;

/** What a successful keyset fetch leaves for the reboot to apply (the source's license and topology). */
export interface PendingLicense {
  license: SimController['license'];
  topologyName: string;
}

/** All the mutable state of one simulated controller; operations live in ./operations/. */
export class SimController implements FabricNode {
  phase: Phase = 'up';
  private bootedAt = Date.now();
  /**
   * The web front answers for the API until `until`: after a reboot 502 then 503 (`reboot`), after
   * `PUT /admin_ui` 502 only (clients retry 502 there and are not written for a 503).
   */
  unavailable: { until: number; cause: 'reboot' | 'admin-ui' } = { until: 0, cause: 'reboot' };
  listener?: Listener;

  readonly config: { topologyName: string; controllerName: string; ntpHosts: string };
  license: { terms?: LicenseTerms; uploadedAtS?: number; sha1?: string; finalized: boolean; params?: LicenseParams } = { finalized: false };
  keyset: KeysetState = { present: false, lastStartedAtS: 0 };
  peerId?: number;
  readonly peers = new Map<number, PeerEntry>();
  readonly routes = new Map<number, RouteEntry>();
  nextRouteId = 1;
  /** One rule list behind both firewall APIs (see firewall-state.ts). */
  readonly firewall = new FirewallState();
  /** Endpoints, tunnels, traffic pairs and eBGP peers (operations/ipsec.ts). */
  readonly ipsec = new IpsecState();
  containerSystem: { running: boolean; network: string; transition?: { to: boolean; until: number } };
  readonly images = new Map<string, ImageEntry>();
  readonly containers = new Map<string, ContainerEntry>();
  adminUi = { enabled: true, username: 'vnscubed' };
  /** API tokens, access URLs, identity settings (operations/access.ts). */
  readonly access = new AccessState();
  /** Snapshot files kept on the controller (operations/snapshots.ts). */
  readonly snapshots = new SnapshotStore();
  /** Clientpacks and their tags (operations/overlay.ts). */
  readonly overlay = new OverlayState();
  /** Remote support and background tasks (operations/status.ts). */
  readonly sysadmin = new SystemAdminState();
  faults: FaultSettings = emptyFaults();
  readonly requestLog: RequestLogEntry[] = [];
  /** A fetched keyset's license, applied by the reboot that follows the fetch. */
  pendingLicense?: PendingLicense;
  /**
   * The reboot a fetch owes (ordering "keyset present, license at the reboot"): `fired` once its
   * delay passed, `held` while the last reply was `Keyset already exists.` (see operations/keyset.ts).
   */
  fetchReboot?: { fired: boolean; held: boolean };
  writes = 0;
  /** Image imports whose URL/name contains a key fail with the value as `status_msg`. */
  readonly importFailures = new Map<string, string>();
  /** Set by operations that must reboot the controller once their reply has been sent. */
  rebootAfterReply = false;

  /** Secrets live in private fields: a printed or inspected controller must not show them. */
  #password: string;
  readonly #apiToken: string;

  constructor(
    readonly identity: ControllerIdentity,
    password: string,
    apiToken: string,
    readonly certificate: SimCertificate,
    public port: number,
    readonly world: SimWorld,
    options: { containerSystemRunning?: boolean; containerNetwork?: string } = {},
  ) {
    this.#password = password;
    this.#apiToken = apiToken;
    this.config = { topologyName: '', controllerName: identity.name, ntpHosts: '0.pool.ntp.org' };
    this.containerSystem = { running: options.containerSystemRunning ?? true, network: options.containerNetwork ?? '198.51.100.0/28' };
  }

  get name(): string {
    return this.identity.name;
  }

  get password(): string {
    return this.#password;
  }

  set password(value: string) {
    this.#password = value;
  }

  get apiToken(): string {
    return this.#apiToken;
  }

  /** Appends to the request log, dropping the oldest entries beyond the simulation's limit. */
  logRequest(entry: RequestLogEntry): void {
    this.requestLog.push(entry);
    const limit = this.world.requestLogLimit;
    if (this.requestLog.length > limit) this.requestLog.splice(0, this.requestLog.length - limit);
  }

  /** Applies the license a keyset fetch brought (at the reboot after it, or at once without one). */
  applyPendingLicense(): void {
    const pending = this.pendingLicense;
    this.pendingLicense = undefined;
    this.fetchReboot = undefined;
    if (!pending) return;
    this.license = pending.license;
    this.config.topologyName = pending.topologyName;
  }

  /** The reboot a fetch owes, once. */
  rebootForFetch(): Promise<void> {
    this.fetchReboot = undefined;
    return this.reboot();
  }

  /** Names and state only: never the password, API token or keyset token. */
  [inspect.custom](): string {
    return `SimController { name: '${this.name}', host: '${this.host}', phase: '${this.phase}', licensed: ${this.licensed} }`;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, host: this.host, phase: this.phase, licensed: this.licensed };
  }

  get addresses(): string[] {
    return [this.identity.privateIp, this.identity.publicIp, this.identity.publicDns];
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get licensed(): boolean {
    return this.license.finalized;
  }

  isUp(): boolean {
    return this.phase === 'up' || this.phase === 'starting';
  }

  upSince(): number {
    return this.bootedAt;
  }

  /**
   * A reboot as a client sees it: the listener closes and live keep-alive connections are dropped
   * for `rebootOutageMs`, then the web front answers 502/503 for `reboot5xxMs`, then the API is back.
   */
  async reboot(): Promise<void> {
    if (this.phase === 'crashed' || this.phase === 'stopped' || this.phase === 'rebooting') return;
    this.phase = 'rebooting';
    await this.listener?.close();
    this.world.later(this.world.timings.rebootOutageMs, () => void this.bootUp());
  }

  private async bootUp(): Promise<void> {
    if (this.phase !== 'rebooting') return;
    this.bootedAt = Date.now();
    this.unavailable = { until: Date.now() + this.world.timings.reboot5xxMs, cause: 'reboot' };
    // A fetched keyset's license applies on the way up (VNS3_BEHAVIOUR.md, lifecycle step 5).
    this.applyPendingLicense();
    // Containers do not survive a reboot unless restarted; the container system comes back running.
    for (const c of this.containers.values()) c.running = false;
    this.phase = 'up';
    await this.listener?.open();
  }

  /** Stops answering at once; peers see it unreachable, its advertised routes vanish. */
  async crash(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'crashed';
    await this.listener?.close();
  }

  async restore(): Promise<void> {
    if (this.phase !== 'crashed') return;
    this.phase = 'up';
    this.bootedAt = Date.now();
    await this.listener?.open();
  }

  async stop(): Promise<void> {
    this.phase = 'stopped';
    await this.listener?.close();
  }
}

export interface LicenseParams {
  subnet: string;
  managers: string[];
  asns: number[];
  clients: string[];
  controllers: string[];
  myManagerVip: string;
}
