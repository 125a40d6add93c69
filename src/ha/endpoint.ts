/**
 * The agent's HTTP endpoint: `/healthz` for a liveness probe (a container orchestrator, a load
 * balancer, a monitoring check) and `/metrics` for Prometheus. Plain `node:http`, no
 * authentication — which is why it binds loopback unless told otherwise, and why neither page
 * carries a secret (the status it shows is the agent's, where passwords never appear).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HaMetrics } from './metrics.js';
import type { HaStatus } from './status.js';

/** What the endpoint reads of an agent: `HaAgent` fits. */
export interface HaEndpointAgent {
  status(): HaStatus;
}

/** Where and how {@link startHaEndpoint} serves. */
export interface HaEndpointOptions {
  /** Default 0: any free port (read it back from `port`). */
  port?: number | undefined;
  /** Default `127.0.0.1`. Any other address serves whoever reaches it: name it on purpose. */
  host?: string | undefined;
  /** The agent's check interval, ms: a check older than three of them makes `/healthz` fail. */
  intervalMs: number;
  /** The agent's clock (`HaAgentDeps.now`); default `Date.now`. */
  now?: (() => number) | undefined;
  /** Serve `/metrics` from these; without them `/metrics` answers 404. */
  metrics?: HaMetrics | undefined;
}

/** A running endpoint. */
export interface HaEndpoint {
  host: string;
  port: number;
  /** `http://host:port`. */
  url: string;
  /** Whether the address is reachable from other hosts (not loopback). */
  exposed: boolean;
  close(): Promise<void>;
}

/** What `/healthz` answers, as JSON. */
export interface HaHealthReport {
  /** `ok` (HTTP 200) or `failing` (HTTP 503). */
  status: 'ok' | 'failing';
  mode: HaStatus['mode'];
  role: HaStatus['role'];
  /** The primary's health as this agent judges it. */
  health: HaStatus['health'];
  /** How long ago the last check finished, ms (absent before the first). */
  lastCheckAgeMs?: number | undefined;
  /** The last check's error, if it had one. */
  lastError?: string | undefined;
  /** Configuration problems (a rejected password, a standby list mismatch). */
  problems: string[];
  /** Why `failing`, in a few words. */
  reasons: string[];
}

/**
 * The health report of an agent: `ok` when its last check finished within three intervals and it
 * reports no configuration problem, `failing` otherwise, with the reasons.
 */
export function healthReport(status: HaStatus, intervalMs: number, now: number): HaHealthReport {
  const last = status.lastCheck;
  const age = last ? Math.max(0, now - (last.startedAt + last.durationMs)) : undefined;
  const reasons: string[] = [];
  if (age === undefined) reasons.push('no check has finished yet');
  else if (age > 3 * intervalMs) reasons.push(`the last check finished ${Math.round(age)} ms ago (more than 3 intervals of ${intervalMs} ms)`);
  if (status.problems.length > 0) reasons.push(`${status.problems.length} configuration problem(s)`);
  return { status: reasons.length === 0 ? 'ok' : 'failing', mode: status.mode, role: status.role, health: status.health, lastCheckAgeMs: age, lastError: last?.error, problems: status.problems, reasons };
}

/** 127.0.0.0/8, ::1 (and its IPv4-mapped form), or the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

function send(res: ServerResponse, code: number, type: string, body: string, head: boolean): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

async function answer(req: IncomingMessage, res: ServerResponse, agent: HaEndpointAgent, options: HaEndpointOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain', 'method not allowed\n', head);
  }
  if (path === '/healthz') {
    const report = healthReport(agent.status(), options.intervalMs, (options.now ?? Date.now)());
    return send(res, report.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`, head);
  }
  if (path === '/metrics' && options.metrics) return send(res, 200, options.metrics.contentType, await options.metrics.text(), head);
  send(res, 404, 'text/plain', 'not found: try /healthz or /metrics\n', head);
}

/**
 * Serves `/healthz` (200 or 503, a JSON {@link HaHealthReport}) and `/metrics` (Prometheus text)
 * for `agent`. Rejects when the address cannot be bound (in use, not an address of this host).
 */
export async function startHaEndpoint(agent: HaEndpointAgent, options: HaEndpointOptions): Promise<HaEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    answer(req, res, agent, options).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n', false);
      else res.destroy();
    });
  });
  // An idle scraper's keep-alive connection must not hold the agent's exit.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    url: `http://${shown}:${port}`,
    exposed: !isLoopbackHost(host),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
