/**
 * What an HA agent shows of itself: its role, its recent checks, the routes it holds, what it
 * would move, and counters. `agent.status()` returns a copy; only the agent's context
 * (context.ts) changes the original.
 */
import type { CloudRoute, RouteChange } from './cloud/types.js';
import type { HaConfig } from './config.js';
import type { Vns3RouteChange, Vns3RouteSpec } from './failover.js';
import type { CheckVerdict, PrimaryHealth, WitnessReport } from './monitor.js';

/** `passive`: watching, writing nothing. `active`: asserting routes to this controller every interval. */
export type HaRole = 'starting' | 'passive' | 'active' | 'stopped';

/** One check: what each witness said, the verdict, and what the agent did about it. */
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

/** Running totals since the agent was created. */
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

/** The last failover a standby made: when, how long, and every route it moved. */
export interface FailoverRecord {
  /** Epoch ms of the first of the `fall` failed checks. */
  firstFailedCheckAt?: number | undefined;
  detectedAt: number;
  finishedAt: number;
  durationMs: number;
  cloudRoutes: RouteChange[];
  vns3Routes: Vns3RouteChange[];
  dryRun: boolean;
  errors: string[];
  /** True once every cloud and VNS3 route read back as moved (the standby re-drives until then). */
  complete: boolean;
  /** Epoch ms of the check that found every route moved. */
  completedAt?: number | undefined;
}

/** What a failover (standby) or a take-back (primary) would change now. */
export interface HaPlan {
  computedAt: number;
  /** Who the routes would move to. */
  to: string;
  cloudRoutes: RouteChange[];
  vns3Routes: Vns3RouteChange[];
}

/** The agent's observable state. */
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
  /**
   * Configuration problems found at run time, one line each (a password a controller rejects, a
   * standby list or priorities that differ between agents); while any is listed, every check
   * records them as its error.
   */
  problems: string[];
  counters: HaCounters;
}
