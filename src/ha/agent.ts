/**
 * The HA agent: one check per interval on a fixed grid (a slow check skips
 * the ticks it overran instead of shifting every later one), each check
 * probing its witnesses in parallel with retries off and a timeout shorter
 * than the interval, then acting by role (standby.ts, primary.ts). Checks
 * never overlap; `checkOnce()` queues behind a running one. `stop()` aborts
 * the check in flight and leaves no timer or connection behind.
 */
import { readFileSync } from 'node:fs';
import { createClient, type Vns3Client } from '../client/index.js';
import type { Vns3EventHandler } from '../events.js';
import { sleep } from '../abort.js';
import type { CloudRouteProvider, ControllerRef } from './cloud/provider.js';
import { haEnvName, redactHaConfig, Vns3HaConfigError, type HaConfigProblem } from './config.js';
import {
  errorText,
  makeEmitter,
  type AgentContext,
  type CheckResult,
  type HaAgentConfig,
  type HaCounters,
  type HaPlan,
  type HaRole,
  type HaStatus,
} from './context.js';
import { HealthTracker } from './monitor.js';
import { createPrimaryLogic } from './primary.js';
import { cloudConfigProblems, createCloudProvider, type CloudProviderOptions } from './providers.js';
import { createStandbyLogic } from './standby.js';

export interface HaClientTarget {
  role: 'own' | 'peer-underlay' | 'peer-public' | 'standby';
  url: string;
  /** The standby's name from `standbys`. */
  name?: string;
  password?: string;
  fingerprint256?: string;
  ca?: string;
  insecure: boolean;
  timeoutMs: number;
}

/** Makes the agent's API clients; the agent closes them on stop(). Retries must stay off: the loop is the retry. */
export type HaClientFactory = (target: HaClientTarget) => Vns3Client;

export interface HaAgentDeps extends CloudProviderOptions {
  provider?: CloudRouteProvider;
  clientFactory?: HaClientFactory;
  /** Epoch ms; for timestamps and delays (the loop's own ticks use the real clock). */
  now?: () => number;
  onEvent?: Vns3EventHandler;
  /** Checks kept in `status().recentChecks` (default 50). */
  historySize?: number;
  /** Per probe; default 80% of the interval, within 0.5 to 5 s (a probe may outlast a short interval: checks never overlap). */
  probeTimeoutMs?: number;
  /** How often a healthy peer's cloud routes are re-read into the snapshot (default 60 s). */
  cloudSnapshotIntervalMs?: number;
}

export interface HaAgent {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs one check (and what it calls for) now, between the loop's checks if it runs. */
  checkOnce(): Promise<CheckResult>;
  /** What a failover (standby) or a take-back (primary) would change now; writes nothing. */
  plan(options?: { signal?: AbortSignal }): Promise<HaPlan>;
  status(): HaStatus;
}

function newCounters(): HaCounters {
  return { checks: 0, failovers: 0, failbacks: 0, releases: 0, yields: 0, vetoes: 0, splits: 0, deferrals: 0, cloudRouteWrites: 0, vns3RouteWrites: 0, errors: 0 };
}

/** What the agent itself needs beyond what config.ts checks; every problem at once. */
export function agentConfigProblems(cfg: HaAgentConfig, deps: HaAgentDeps = {}): HaConfigProblem[] {
  const out: HaConfigProblem[] = [];
  const need = (key: string, ok: unknown, reason: string): void => {
    if (!ok) out.push({ key, envName: haEnvName(key), reason });
  };
  if (cfg.mode === 'secondary') {
    need('my_api_url', cfg.myApiUrl, 'is required (or my_underlay_ip) to read this controller');
    need('peer_api_url', cfg.peerApiUrl, 'is required (or peer_underlay_ip) to watch the primary');
    need('peer_public_api_url', cfg.peerPublicApiUrl, 'is required (or peer_public_ip) to watch the primary');
  } else {
    need('my_underlay_ip', cfg.myUnderlayIp || (cfg.myApiUrl && cfg.myApiPassword), 'is required in primary mode (or my_api_url with my_api_password) so the agent can find itself in the cloud');
  }
  for (const s of cfg.standbys) {
    if (s.underlayIp === cfg.myUnderlayIp) out.push({ key: 'standbys', envName: haEnvName('standbys'), reason: `lists this controller (${s.name}) itself`, shown: JSON.stringify(s.name) });
    if (cfg.mode === 'secondary' && s.underlayIp === cfg.peerUnderlayIp) out.push({ key: 'standbys', envName: haEnvName('standbys'), reason: `lists the primary (${s.name}) as a standby`, shown: JSON.stringify(s.name) });
  }
  if (!deps.provider) out.push(...cloudConfigProblems(cfg, deps.env));
  if (deps.probeTimeoutMs !== undefined && !(deps.probeTimeoutMs > 0)) out.push({ key: 'probe_timeout', envName: haEnvName('probe_timeout'), reason: 'must be positive' });
  return out;
}

export function createHaAgent(config: HaAgentConfig, deps: HaAgentDeps = {}): HaAgent {
  const problems = agentConfigProblems(config, deps);
  if (problems.length > 0) throw new Vns3HaConfigError(problems, config.warnings);
  const now = deps.now ?? Date.now;
  const interval = config.checkIntervalMs;
  const probeTimeoutMs = deps.probeTimeoutMs ?? Math.max(500, Math.min(5_000, Math.round(interval * 0.8)));
  const historySize = deps.historySize ?? 50;
  const ca = config.caFile ? readFileSync(config.caFile, 'utf8') : undefined;
  const factory: HaClientFactory =
    deps.clientFactory ??
    ((t) =>
      createClient({
        host: t.url,
        ...(t.password !== undefined ? { password: t.password } : {}),
        ...(t.fingerprint256 ? { fingerprint256: t.fingerprint256 } : t.ca ? { ca: t.ca } : {}),
        ...(t.insecure ? { insecure: true } : {}),
        timeoutMs: t.timeoutMs,
        retry: false,
      }));
  const target = (role: HaClientTarget['role'], url: string, password: string | undefined, fingerprint256?: string, name?: string): Vns3Client =>
    factory({
      role,
      url,
      ...(name ? { name } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(fingerprint256 ? { fingerprint256 } : {}),
      ...(ca ? { ca } : {}),
      insecure: config.insecure,
      timeoutMs: probeTimeoutMs,
    });

  const clients: AgentContext['clients'] = { standbys: new Map() };
  if (config.myApiUrl && (config.mode === 'secondary' || config.myApiPassword)) clients.own = target('own', config.myApiUrl, config.myApiPassword, config.myFingerprint256);
  if (config.mode === 'secondary' && config.peerApiUrl) clients.peerUnderlay = target('peer-underlay', config.peerApiUrl, config.peerApiPassword, config.peerFingerprint256);
  if (config.peerPublicApiUrl) clients.peerPublic = target('peer-public', config.peerPublicApiUrl, config.peerApiPassword, config.peerFingerprint256);
  for (const s of config.standbys) clients.standbys.set(s.name, target('standby', s.apiUrl, s.apiPassword, undefined, s.name));

  const me = config.myUnderlayIp ?? clients.own?.host ?? 'ha';
  const event = makeEmitter(deps.onEvent, me);
  const dryRun = config.dryRun;
  const status: HaStatus = {
    mode: config.mode,
    cloud: config.cloud,
    dryRun,
    running: false,
    role: 'starting',
    reason: 'no check yet',
    roleSince: now(),
    health: 'unknown',
    fallCount: 0,
    riseCount: 0,
    recentChecks: [],
    routesHeld: { cloud: [], vns3: [] },
    snapshot: { cloud: [], vns3: [] },
    counters: newCounters(),
  };

  let providerPromise: Promise<CloudRouteProvider> | undefined;
  const refs = new Map<string, ControllerRef>();
  const ctx: AgentContext = {
    config,
    dryRun,
    cloudVeto: config.cloudVeto,
    probeTimeoutMs,
    cloudSnapshotIntervalMs: deps.cloudSnapshotIntervalMs ?? 60_000,
    now,
    tracker: new HealthTracker(config.fall, config.rise),
    clients,
    provider() {
      if (deps.provider) return Promise.resolve(deps.provider);
      providerPromise ??= createCloudProvider(config, deps).catch((e) => {
        providerPromise = undefined;
        throw e;
      });
      return providerPromise;
    },
    async ref(privateIp, signal) {
      if (!privateIp) return undefined;
      const hit = refs.get(privateIp);
      if (hit) return hit;
      try {
        const ref = await (await ctx.provider()).resolve(privateIp, signal ? { signal } : {});
        refs.set(privateIp, ref);
        return ref;
      } catch (e) {
        if (signal?.aborted) throw e;
        event('ha.resolve', `cloud does not know ${privateIp} yet: ${errorText(e)}`, undefined, 'debug');
        return undefined;
      }
    },
    cachedRef: (ip) => refs.get(ip),
    status,
    snapshot: new Map(),
    vns3Snapshot: [],
    setRole(role: HaRole, reason: string) {
      const from = status.role;
      status.reason = reason;
      if (from === role) return;
      status.role = role;
      status.roleSince = now();
      event('ha.role', `${from} → ${role}: ${reason}`, { from, to: role, reason }, role === 'active' ? 'warn' : 'info');
    },
    event,
  };
  const logic = config.mode === 'secondary' ? createStandbyLogic(ctx) : createPrimaryLogic(ctx);
  if (config.mode === 'secondary') ctx.setRole('passive', 'watching the primary');

  let seq = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let loop: Promise<void> | undefined;
  let controller: AbortController | undefined;
  let closed = false;

  async function runCheck(signal: AbortSignal | undefined): Promise<CheckResult> {
    const record: CheckResult = {
      seq: ++seq,
      startedAt: now(),
      durationMs: 0,
      verdict: 'unknown',
      witnesses: [],
      health: ctx.tracker.state,
      fallCount: 0,
      riseCount: 0,
      role: status.role,
      actions: [],
    };
    const t0 = performance.now();
    try {
      await logic.check(signal, record);
    } catch (e) {
      if (signal?.aborted) throw e;
      record.error = errorText(e);
      status.counters.errors++;
      event('ha.error', `check ${record.seq}: ${record.error}`, { seq: record.seq }, 'error');
    }
    record.durationMs = Math.round(performance.now() - t0);
    record.health = status.health = ctx.tracker.state;
    record.fallCount = status.fallCount = ctx.tracker.fallCount;
    record.riseCount = status.riseCount = ctx.tracker.riseCount;
    record.role = status.role;
    status.counters.checks++;
    status.lastCheck = record;
    status.recentChecks.push(record);
    if (status.recentChecks.length > historySize) status.recentChecks.splice(0, status.recentChecks.length - historySize);
    const summary = record.witnesses.map((w) => `${w.name}=${w.result}`).join(' ');
    event('ha.check', `#${record.seq} ${record.verdict} (${summary}) ${record.health} ${record.role} in ${record.durationMs} ms`, { ...record }, record.error ? 'warn' : 'info');
    return record;
  }

  function enqueue(signal: AbortSignal | undefined): Promise<CheckResult> {
    const next = queue.then(() => runCheck(signal));
    queue = next.catch(() => undefined);
    return next;
  }

  return {
    async start() {
      if (loop || closed) return;
      controller = new AbortController();
      const { signal } = controller;
      status.running = true;
      event('ha.start', `${config.mode} agent (${config.cloud}${dryRun ? ', dry run' : ''}) every ${interval} ms, fall ${config.fall}, rise ${config.rise}`, {
        config: redactHaConfig(config) as unknown as Record<string, unknown>,
        probeTimeoutMs,
      });
      const t0 = Date.now();
      loop = (async () => {
        let tick = 0;
        while (!signal.aborted) {
          await enqueue(signal).catch(() => undefined);
          tick = Math.max(tick + 1, Math.floor((Date.now() - t0) / interval) + 1);
          await sleep(Math.max(0, t0 + tick * interval - Date.now()), signal).catch(() => undefined);
        }
      })();
    },

    async stop() {
      if (closed) return;
      closed = true;
      controller?.abort(new Error('HA agent stopped'));
      await loop;
      await queue;
      status.running = false;
      ctx.setRole('stopped', 'stopped');
      await Promise.all([clients.own, clients.peerUnderlay, clients.peerPublic, ...clients.standbys.values()].map((c) => c?.close()));
      event('ha.stop', 'agent stopped', { counters: { ...status.counters } });
    },

    checkOnce() {
      if (closed) return Promise.reject(new Error('HA agent is stopped'));
      return enqueue(controller?.signal);
    },

    async plan(options = {}) {
      const p = await logic.plan(options.signal);
      const self = await ctx.ref(config.myUnderlayIp, options.signal);
      const plan: HaPlan = {
        computedAt: now(),
        to: self?.networkInterfaceId ?? self?.instanceId ?? config.myUnderlayIp ?? me,
        cloudRoutes: p.cloud.filter((c) => c.action !== 'unchanged'),
        vns3Routes: 'vns3' in p ? (p.vns3 as HaPlan['vns3Routes']) : [],
      };
      status.lastPlan = plan;
      event('ha.plan', `would move ${plan.cloudRoutes.length} cloud and create ${plan.vns3Routes.length} VNS3 route(s)`, { ...plan });
      return plan;
    },

    status() {
      return structuredClone(status);
    },
  };
}
