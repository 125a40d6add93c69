/**
 * The API clients an HA agent talks through: its own controller, the peer on its underlay and
 * public addresses, any further standbys, and the observers. Each has retries off (the agent's loop is the retry)
 * and a timeout of one probe.
 */
import { readFileSync } from 'node:fs';
import { createClient, type Vns3Client } from '../client/index.js';
import type { HaConfig } from './config.js';
import type { AgentClients } from './context.js';

/** One client the agent needs: which controller, at what address, with which credentials and trust. */
export interface HaClientTarget {
  role: 'own' | 'peer-underlay' | 'peer-public' | 'standby' | 'observer';
  url: string;
  /** The standby's (or observer's) name from `standbys` (`observers`). */
  name?: string | undefined;
  password?: string | undefined;
  fingerprint256?: string | undefined;
  ca?: string | undefined;
  insecure: boolean;
  timeoutMs: number;
}

/** Makes the agent's API clients; the agent closes them on stop(). Retries must stay off: the loop is the retry. */
export type HaClientFactory = (target: HaClientTarget) => Vns3Client;

/** A pin wins over a CA file; `insecure` only when asked for. */
const defaultFactory: HaClientFactory = (t) =>
  createClient({
    host: t.url,
    password: t.password,
    fingerprint256: t.fingerprint256 || undefined,
    ca: t.fingerprint256 ? undefined : t.ca || undefined,
    insecure: t.insecure || undefined,
    timeoutMs: t.timeoutMs,
    retry: false,
  });

/**
 * The clients a configuration calls for: its own controller's (always in secondary mode; in
 * primary mode only with a password), the primary's underlay API (secondary only), the peer's
 * public API, one per listed standby and one per observer. Throws when `ca_file` cannot be read.
 */
export function createAgentClients(config: HaConfig, timeoutMs: number, factory: HaClientFactory = defaultFactory): AgentClients {
  const ca = config.caFile ? readFileSync(config.caFile, 'utf8') : undefined;
  const make = (role: HaClientTarget['role'], url: string, password: string | undefined, fingerprint256?: string, name?: string): Vns3Client =>
    factory({ role, url, name, password, fingerprint256, ca, insecure: config.insecure, timeoutMs });
  const clients: AgentClients = { standbys: new Map(), observers: new Map() };
  if (config.myApiUrl && (config.mode === 'secondary' || config.myApiPassword)) clients.own = make('own', config.myApiUrl, config.myApiPassword, config.myFingerprint256);
  if (config.mode === 'secondary' && config.peerApiUrl) clients.peerUnderlay = make('peer-underlay', config.peerApiUrl, config.peerApiPassword, config.peerFingerprint256);
  if (config.peerPublicApiUrl) clients.peerPublic = make('peer-public', config.peerPublicApiUrl, config.peerApiPassword, config.peerFingerprint256);
  for (const s of config.standbys) clients.standbys.set(s.name, make('standby', s.apiUrl, s.apiPassword, undefined, s.name));
  for (const o of config.observers ?? []) clients.observers.set(o.name, make('observer', o.apiUrl, o.apiPassword, undefined, o.name));
  return clients;
}
