/**
 * What the role logic (standby.ts, primary.ts) shares with the agent loop:
 * configuration, clients, the cloud provider, the observable state and the
 * one place events are emitted. Kept in one object so that the role logic is
 * plain functions with no hidden module state.
 */
import type { Vns3Client } from '../client/index.js';
import { emit, type Vns3Event, type Vns3EventHandler } from '../events.js';
import type { CloudRoute, CloudRouteProvider, ControllerRef, RouteChange } from './cloud/provider.js';
import type { HaConfig } from './config.js';
import type { Vns3RouteChange, Vns3RouteSpec } from './failover.js';
import type { CheckVerdict, HealthTracker, PrimaryHealth, WitnessReport } from './monitor.js';

/** The agent's configuration: the plugin's variables plus ours (see config.ts). */
export type HaAgentConfig = HaConfig;

/** `passive`: watching, writing nothing. `active`: asserting routes to this controller every interval. */
export type HaRole = 'starting' | 'passive' | 'active' | 'stopped';

export interface CheckResult {
  seq: number;
  /** Epoch ms. */
  startedAt: number;
  durationMs: number;
  verdict: CheckVerdict;
  witnesses: WitnessReport[];
  /** Secondary: the primary's health. Primary: its own. */
  health: PrimaryHealth;
  fallCount: number;
  riseCount: number;
  role: HaRole;
  /** What this check did or would do (dry run), in short phrases. */
  actions: string[];
  error?: string;
}

export interface HaCounters {
  checks: number;
  failovers: number;
  /** Primary: routes taken back. */
  failbacks: number;
  /** Standby: routes given up because the primary recovered. */
  releases: number;
  /** Routes found held by another HA member, so this agent stopped asserting. */
  yields: number;
  vetoes: number;
  splits: number;
  deferrals: number;
  cloudRouteWrites: number;
  vns3RouteWrites: number;
  errors: number;
}

export interface FailoverRecord {
  /** Epoch ms of the first of the `fall` failed checks. */
  firstFailedCheckAt?: number;
  detectedAt: number;
  finishedAt: number;
  durationMs: number;
  cloudRoutes: RouteChange[];
  vns3Routes: Vns3RouteChange[];
  dryRun: boolean;
  errors: string[];
}

export interface HaPlan {
  computedAt: number;
  /** Who the routes would move to. */
  to: string;
  cloudRoutes: RouteChange[];
  vns3Routes: Vns3RouteChange[];
}

export interface HaStatus {
  mode: HaConfig['mode'];
  cloud: HaConfig['cloud'];
  dryRun: boolean;
  running: boolean;
  role: HaRole;
  reason: string;
  roleSince: number;
  health: PrimaryHealth;
  fallCount: number;
  riseCount: number;
  lastCheck?: CheckResult;
  /** Newest last; a ring buffer. */
  recentChecks: CheckResult[];
  /** What this agent asserts while active. */
  routesHeld: { cloud: Pick<CloudRoute, 'tableId' | 'destination'>[]; vns3: string[] };
  /** What it would move on a failover (standby) or keeps as its own (primary). */
  snapshot: { cloud: Pick<CloudRoute, 'tableId' | 'destination'>[]; vns3: Vns3RouteSpec[] };
  lastFailover?: FailoverRecord;
  lastPlan?: HaPlan;
  counters: HaCounters;
}

export interface AgentContext {
  readonly config: HaAgentConfig;
  readonly dryRun: boolean;
  readonly cloudVeto: boolean;
  readonly probeTimeoutMs: number;
  readonly cloudSnapshotIntervalMs: number;
  readonly now: () => number;
  readonly tracker: HealthTracker;
  readonly clients: {
    own?: Vns3Client;
    peerUnderlay?: Vns3Client;
    peerPublic?: Vns3Client;
    standbys: Map<string, Vns3Client>;
  };
  provider(): Promise<CloudRouteProvider>;
  /** Cloud identity of a controller by private IP, cached; undefined when the cloud does not know it (yet). */
  ref(privateIp: string | undefined, signal?: AbortSignal): Promise<ControllerRef | undefined>;
  /** What `ref` resolved earlier, without asking the cloud. */
  cachedRef(privateIp: string): ControllerRef | undefined;
  readonly status: HaStatus;
  /** Table+destination keyed. */
  readonly snapshot: Map<string, Pick<CloudRoute, 'tableId' | 'destination'>>;
  vns3Snapshot: Vns3RouteSpec[];
  setRole(role: HaRole, reason: string): void;
  event(step: string, detail: string, data?: Record<string, unknown>, level?: Vns3Event['level']): void;
}

export function makeEmitter(onEvent: Vns3EventHandler | undefined, controller: string) {
  return (step: string, detail: string, data?: Record<string, unknown>, level?: Vns3Event['level']): void => {
    emit(onEvent, { controller, step, detail, ...(level ? { level } : {}), ...(data ? { data } : {}) });
  };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
