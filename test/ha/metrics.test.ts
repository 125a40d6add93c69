/**
 * The agent's observability: /healthz and Prometheus /metrics scraped over 127.0.0.1 while a
 * failover runs on the bed, and the JSON log lines pino writes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHaAgent, createHaLogger, createHaMetrics, startHaEndpoint, type HaEndpoint, type HaHealthReport } from '../../src/ha/index.js';
import { requireOptional } from '../../src/optional.js';
import { startHaBed, type HaBed } from '../../src/testing/index.js';
import { stopAfterEach } from './lifecycle.js';

let bed: HaBed;
const track = stopAfterEach();
const endpoints: HaEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

/** The value of one sample line (`name{labels} value`), 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function healthz(e: HaEndpoint): Promise<{ code: number; body: HaHealthReport }> {
  const res = await fetch(`${e.url}/healthz`);
  return { code: res.status, body: (await res.json()) as HaHealthReport };
}

describe('HA metrics and health endpoint', () => {
  it('counts checks, witness results, the failover and its route writes; /healthz follows role and freshness', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'aws' }));
    const metrics = createHaMetrics();
    const standby = createHaAgent(bed.standbyConfig(1), { ...bed.deps(), onEvent: metrics.onEvent });
    track.agents(standby);
    metrics.attach(standby);
    const endpoint = await startHaEndpoint(standby, { intervalMs: bed.intervalMs, now: bed.clock.now, metrics });
    endpoints.push(endpoint);
    expect(endpoint).toMatchObject({ host: '127.0.0.1', exposed: false });

    const before = await healthz(endpoint);
    expect(before.code).toBe(503);
    expect(before.body.reasons).toEqual(['no check has finished yet']);

    await bed.rounds([standby], 3);
    const healthy = await healthz(endpoint);
    expect(healthy).toMatchObject({ code: 200, body: { status: 'ok', mode: 'secondary', role: 'passive', health: 'healthy', problems: [] } });
    const m0 = await (await fetch(`${endpoint.url}/metrics`)).text();
    expect(sample(m0, 'vns3_ha_checks_total{verdict="up",outcome="ok"}')).toBe(3);
    expect(sample(m0, 'vns3_ha_role{role="passive"}')).toBe(1);
    expect(sample(m0, 'vns3_ha_failovers_total')).toBe(0);
    expect(sample(m0, 'vns3_ha_route_writes_total{target="cloud"}')).toBe(0);

    await bed.crash(0, 'stopped');
    await bed.rounds([standby], 10, () => standby.status().lastFailover?.complete === true);
    const res = await fetch(`${endpoint.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m1 = await res.text();
    expect(sample(m1, 'vns3_ha_failovers_total')).toBe(1);
    expect(sample(m1, 'vns3_ha_route_writes_total{target="cloud"}')).toBe(3);
    expect(sample(m1, 'vns3_ha_route_writes_total{target="vns3"}')).toBe(1);
    expect(sample(m1, 'vns3_ha_checks_total{verdict="down",outcome="ok"}')).toBeGreaterThanOrEqual(3);
    expect(sample(m1, 'vns3_ha_witness_results_total{witness="cloud",result="down"}')).toBeGreaterThanOrEqual(3);
    expect(sample(m1, 'vns3_ha_witness_results_total{witness="underlay",result="up"}')).toBe(3);
    expect(sample(m1, 'vns3_ha_role{role="active"}')).toBe(1);
    expect(sample(m1, 'vns3_ha_role{role="passive"}')).toBe(0);
    expect(sample(m1, 'vns3_ha_check_duration_seconds_count')).toBe(standby.status().counters.checks);
    // A scrape adds only what moved since the last one.
    expect(sample(await (await fetch(`${endpoint.url}/metrics`)).text(), 'vns3_ha_failovers_total')).toBe(1);
    expect(await healthz(endpoint)).toMatchObject({ code: 200, body: { role: 'active', health: 'failed' } });

    // No check for more than three intervals: failing.
    bed.clock.t += 4 * bed.intervalMs;
    const stale = await healthz(endpoint);
    expect(stale.code).toBe(503);
    expect(stale.body.reasons[0]).toMatch(/^the last check finished \d+ ms ago \(more than 3 intervals of 150 ms\)/);
    expect((await fetch(`${endpoint.url}/nothing`)).status).toBe(404);
    expect((await fetch(`${endpoint.url}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('a configuration problem fails /healthz with the problem and the last error, never the password; the error time is set', async () => {
    bed = track.bed(await startHaBed({ controllers: 3, cloud: 'overlay' }));
    const metrics = createHaMetrics();
    const standby = createHaAgent(bed.standbyConfig(1, { peer_api_password: 'wrong-password-9' }), { ...bed.deps(), onEvent: metrics.onEvent });
    track.agents(standby);
    metrics.attach(standby);
    const endpoint = await startHaEndpoint(standby, { intervalMs: bed.intervalMs, now: bed.clock.now, metrics });
    endpoints.push(endpoint);
    await bed.rounds([standby], 2);
    const res = await fetch(`${endpoint.url}/healthz`);
    const text = await res.text();
    expect(res.status).toBe(503);
    const body = JSON.parse(text) as HaHealthReport;
    expect(body.problems).toEqual([expect.stringMatching(/^peer_api_password: the primary rejects this password \(HTTP 401\)/)]);
    expect(body.lastError).toMatch(/^peer_api_password:/);
    expect(text).not.toContain('wrong-password-9');
    const m = await (await fetch(`${endpoint.url}/metrics`)).text();
    expect(sample(m, 'vns3_ha_last_error_timestamp_seconds')).toBeGreaterThan(0);
    expect(sample(m, 'vns3_ha_problems')).toBe(1);
    expect(sample(m, 'vns3_ha_checks_total{verdict="up",outcome="error"}')).toBe(2);
    expect(m).not.toContain('wrong-password-9');
  });

  it('JSON logs through pino: one object per line with level, time, controller, step, data and detail; below the level nothing', () => {
    const lines: string[] = [];
    const logger = createHaLogger({ json: true, level: 'info', write: (l) => lines.push(l) });
    logger.log({ controller: '10.0.1.10', step: 'ha.check', detail: '#1 up', data: { verdict: 'up' } });
    logger.log({ controller: '*', step: 'ha.resolve', detail: 'hidden', level: 'debug' });
    logger.setLevel('debug');
    logger.log({ controller: '*', step: 'ha.resolve', detail: 'shown', level: 'debug' });
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'info', controller: '10.0.1.10', step: 'ha.check', detail: '#1 up', data: { verdict: 'up' } });
    expect(String(first.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(first).not.toHaveProperty('pid');
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'debug', detail: 'shown' });
    const text: string[] = [];
    createHaLogger({ json: false, write: (l) => text.push(l) }).log({ controller: '*', step: 'ha.start', detail: 'go', level: 'warn' });
    expect(text[0]).toMatch(/^\d\d:\d\d:\d\d WARN  ha\.start: go\n$/);
  });

  it('a missing optional package is an error naming the feature and the npm command', () => {
    expect(() => requireOptional('vns3-sdk-not-a-package', { 'vns3-sdk-not-a-package': '^1.0.0' }, 'HA metrics (metrics_port, --metrics-port)')).toThrow(
      /^HA metrics \(metrics_port, --metrics-port\) needs the package "vns3-sdk-not-a-package", which is not installed\. Install it next to vns3-sdk with:\n {2}npm install vns3-sdk-not-a-package@\^1\.0\.0$/,
    );
  });
});
