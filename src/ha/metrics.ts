/**
 * Prometheus metrics of an HA agent, through prom-client (an optional peer dependency, loaded only
 * when metrics are asked for). Two sources, each for what it knows best: the agent's status (read
 * at every scrape) for its role and the totals it already counts (failovers, failbacks, route
 * writes), so that a scrape can never disagree with `status()`; and its `ha.check` events for what
 * only a check tells (verdict, witness results, duration). Every metric lives in the instance's own
 * registry, never prom-client's global one, so that two agents in one process do not collide.
 */
import type * as PromClient from 'prom-client';
import type { Vns3Event } from '../events.js';
import { requireOptional } from '../optional.js';
import type { CheckResult, HaRole, HaStatus } from './status.js';

/** The optional packages of the agent's observability, with the ranges it is tested with. */
export const HA_OPTIONAL_PACKAGES = { 'prom-client': '^15.1.0', pino: '^10.0.0' } as const;

const ROLES: readonly HaRole[] = ['starting', 'passive', 'active', 'stopped'];
const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the metrics read of an agent: `HaAgent` fits. */
export interface HaMetricsSource {
  status(): HaStatus;
}

/** An agent's metrics: feed it the agent's events, attach the agent, scrape `text()`. */
export interface HaMetrics {
  /** Pass as (or call from) the agent's `onEvent`: counts checks, witness results and errors. */
  onEvent(event: Vns3Event): void;
  /** Reads role and totals from this agent at every scrape; call once the agent exists. */
  attach(agent: HaMetricsSource): void;
  /** The exposition text of every metric. */
  text(): Promise<string>;
  /** The Content-Type of `text()`. */
  readonly contentType: string;
}

/**
 * Creates the metrics of one agent (names below, all prefixed `vns3_ha_`). Throws an `Error` naming
 * the `npm install` command when prom-client is not installed.
 *
 * - `role{role}` 1 for the agent's role, 0 for the others; `problems` configuration problems now;
 * - `checks_total{verdict,outcome}` (outcome `ok` or `error`); `check_duration_seconds` (histogram);
 * - `witness_results_total{witness,result}`;
 * - `failovers_total`, `failbacks_total`, `route_writes_total{target}` (`cloud` or `vns3`);
 * - `last_error_timestamp_seconds`: when the agent last reported an error (0: never).
 */
export function createHaMetrics(): HaMetrics {
  const prom = requireOptional<typeof PromClient>('prom-client', { 'prom-client': HA_OPTIONAL_PACKAGES['prom-client'] }, 'HA metrics (metrics_port, --metrics-port)');
  const registry = new prom.Registry();
  let agent: HaMetricsSource | undefined;
  const status = (): HaStatus | undefined => agent?.status();
  const registers = [registry];

  new prom.Gauge({
    name: 'vns3_ha_role',
    help: 'The agent role: 1 for the current one (starting, passive, active, stopped).',
    labelNames: ['role'],
    registers,
    collect() {
      const role = status()?.role;
      for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: 'vns3_ha_problems',
    help: 'Configuration problems the agent reports now (a rejected password, a standby list mismatch).',
    registers,
    collect() {
      this.set(status()?.problems.length ?? 0);
    },
  });
  // Totals the agent counts itself: each scrape adds what moved since the last one.
  const fromStatus = (name: string, help: string, read: (s: HaStatus) => number): void => {
    let last = 0;
    new prom.Counter({
      name,
      help,
      registers,
      collect() {
        const s = status();
        if (!s) return;
        this.inc(Math.max(0, read(s) - last));
        last = read(s);
      },
    });
  };
  fromStatus('vns3_ha_failovers_total', 'Failovers this agent made (standby).', (s) => s.counters.failovers);
  fromStatus('vns3_ha_failbacks_total', 'Times this agent took its routes back (primary).', (s) => s.counters.failbacks);
  const written = { cloud: 0, vns3: 0 };
  new prom.Counter({
    name: 'vns3_ha_route_writes_total',
    help: 'Routes written, by target (cloud route tables, VNS3 controllers).',
    labelNames: ['target'],
    registers,
    collect() {
      const s = status();
      if (!s) return;
      for (const [target, now] of [['cloud', s.counters.cloudRouteWrites], ['vns3', s.counters.vns3RouteWrites]] as const) {
        // Both labels from the first scrape, at 0 until a write: a dashboard need not guess them.
        this.inc({ target }, Math.max(0, now - written[target]));
        written[target] = now;
      }
    },
  });

  const checks = new prom.Counter({ name: 'vns3_ha_checks_total', help: 'Checks run, by verdict and outcome (ok, error).', labelNames: ['verdict', 'outcome'], registers });
  const witnesses = new prom.Counter({ name: 'vns3_ha_witness_results_total', help: 'What each witness said, by witness and result (up, down, unknown).', labelNames: ['witness', 'result'], registers });
  const duration = new prom.Histogram({ name: 'vns3_ha_check_duration_seconds', help: 'How long a check took.', buckets: DURATION_BUCKETS, registers });
  const lastError = new prom.Gauge({ name: 'vns3_ha_last_error_timestamp_seconds', help: 'When the agent last reported an error (Unix seconds; 0: never).', registers });
  lastError.set(0);

  return {
    onEvent(event) {
      if (event.level === 'error') lastError.set(Date.now() / 1000);
      if (event.step !== 'ha.check' || !event.data) return;
      const check = event.data as unknown as CheckResult;
      if (check.error !== undefined) lastError.set(Date.now() / 1000);
      checks.inc({ verdict: check.verdict, outcome: check.error === undefined ? 'ok' : 'error' });
      for (const w of check.witnesses ?? []) witnesses.inc({ witness: w.name, result: w.result });
      duration.observe(check.durationMs / 1000);
    },
    attach(a) {
      agent = a;
    },
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
