/**
 * The HA agent's configuration, as the VNS3 HA plugin defines it: a YAML file
 * (default /opt/hacontainer/conf/vars.yml) and/or `HAENV_`-prefixed
 * environment variables, the environment winning over the file (reading
 * both: config-file.ts). Our own settings (fall/rise, preemption, extra
 * standbys, TLS, cloud details) use the same two channels. Every problem is
 * collected and reported at once, by the name the operator writes, because a
 * container that dies on the first bad variable takes a restart per typo.
 */
import { apiUrlFor, bool, fingerprint, ip, ipv4, isAbsent, listSetting, nonEmpty, num, oneOf, str, tags, url } from './config-values.js';
import { MAX_TIMER_MS } from '../abort.js';
import { parseObservers, type HaObserver } from './config-observers.js';
import { BadValue, Vns3HaConfigError, type HaConfigProblem } from './errors.js';

/** Where the plugin container reads its variables. */
export const DEFAULT_HA_CONFIG_FILE = '/opt/hacontainer/conf/vars.yml';
/** The prefix of the environment variables that set HA settings (`HAENV_PEER_PUBLIC_IP`). */
export const HA_ENV_PREFIX = 'HAENV_';

/** `primary` keeps its routes; `secondary` watches the primary and takes them over. */
export type HaMode = 'primary' | 'secondary';
/** Whose route tables a failover moves; `overlay` moves VNS3 routes only. */
export type HaCloud = 'aws' | 'azure' | 'overlay';
/** The lowest level `vns3-ha` prints. */
export type HaLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A further standby peer, for meshes with more than one secondary. */
export interface HaStandby {
  name: string;
  underlayIp: string;
  publicIp?: string | undefined;
  priority: number;
  /** Default `https://<underlay_ip>:<api_port>`. */
  apiUrl: string;
  apiPassword?: string | undefined;
}

/** A validated HA configuration: the plugin's variables plus ours, defaults applied. */
export interface HaConfig {
  mode: HaMode;
  cloud: HaCloud;
  peerPublicIp?: string;
  myUnderlayIp?: string;
  peerUnderlayIp?: string;
  peerOverlayIp?: string;
  myApiPassword?: string;
  peerApiPassword?: string;
  sleepTimeS: number;
  logLevel: HaLogLevel;
  /** `check_interval` (seconds) in ms; defaults to `sleep_time`. */
  checkIntervalMs: number;
  fall: number;
  rise: number;
  preempt: boolean;
  preemptDelayMs: number;
  /** Higher wins. */
  priority: number;
  standbys: HaStandby[];
  /** Further controllers whose view of the primary breaks a tie (config-observers.ts). */
  observers: HaObserver[];
  /** How often the agent renews its lease when nothing it says changed; default every check (lease.ts). */
  leasePeriodMs?: number;
  /** Where a standby keeps what it learned of the primary's routes across restarts (none by default). */
  statePath?: string;
  dryRun: boolean;
  /**
   * Whether the cloud saying the primary's instance is `running` vetoes a failover the network
   * witnesses agree on (default true): a VNS3 that is cut off but alive must not lose its routes.
   */
  cloudVeto: boolean;
  apiPort: number;
  myApiUrl?: string;
  peerApiUrl?: string;
  peerPublicApiUrl?: string;
  caFile?: string;
  myFingerprint256?: string;
  peerFingerprint256?: string;
  insecure: boolean;
  awsRegion?: string;
  awsVpcId?: string;
  awsRouteTableTags: Record<string, string>;
  awsEndpoint?: string;
  azureSubscriptionId?: string;
  azureResourceGroup?: string;
  azureRouteTableTags: Record<string, string>;
  azureEndpoint?: string;
  azureCaFile?: string;
  /** Serve `/healthz` and `/metrics` on this port (0: any free one); none by default (metrics.ts). */
  metricsPort?: number;
  /** The address the endpoint binds: loopback unless `metrics_host` names another. */
  metricsHost: string;
  /** Unknown keys and risky settings; never fatal. */
  warnings: string[];
}

/** Every setting the agent reads, by the name the operator writes. */
export const HA_CONFIG_KEYS = [
  'mode', 'cloud', 'peer_public_ip', 'my_underlay_ip', 'peer_underlay_ip', 'peer_overlay_ip',
  'my_api_password', 'peer_api_password', 'sleep_time', 'log_level',
  'check_interval', 'fall', 'rise', 'preempt', 'preempt_delay', 'priority', 'standbys', 'observers', 'state_path', 'dry_run', 'cloud_veto', 'lease_period',
  'api_port', 'my_api_url', 'peer_api_url', 'peer_public_api_url',
  'ca_file', 'my_fingerprint256', 'peer_fingerprint256', 'insecure',
  'aws_region', 'aws_vpc_id', 'aws_route_table_tags', 'aws_endpoint',
  'azure_subscription_id', 'azure_resource_group', 'azure_route_table_tags', 'azure_endpoint', 'azure_ca_file',
  'metrics_port', 'metrics_host',
] as const;
/** One of {@link HA_CONFIG_KEYS}. */
export type HaConfigKey = (typeof HA_CONFIG_KEYS)[number];

const KNOWN = new Set<string>(HA_CONFIG_KEYS);
const ms = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : Math.round(seconds * 1000));
/** The longest duration setting, in seconds: what one Node timer holds (2^31−1 ms, about 24.8 days). */
const MAX_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
const SECRET = new Set<string>(['my_api_password', 'peer_api_password']);
const REQUIRED: Record<HaMode, HaConfigKey[]> = {
  primary: ['mode', 'cloud', 'peer_public_ip'],
  secondary: ['mode', 'cloud', 'peer_public_ip', 'my_underlay_ip', 'peer_underlay_ip', 'peer_overlay_ip', 'my_api_password', 'peer_api_password'],
};

/** The environment variable that sets `key` (`peer_public_ip` → `HAENV_PEER_PUBLIC_IP`). */
export function haEnvName(key: string): string {
  return HA_ENV_PREFIX + key.toUpperCase();
}

/** A key as the rest of the module uses it: known snake_case as is, camelCase (`peerPublicIp`) mapped to it. */
export function settingKey(key: string): string {
  return KNOWN.has(key) ? key : key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Where each key's value came from, for messages. */
export interface HaConfigSource {
  origins?: Partial<Record<string, string>>;
}

/** The known key close to `key` (a typo such as `mdoe` or `sleep_tim`), if exactly one is: one edit per four letters. */
function closestKey(key: string): string | undefined {
  const limit = Math.max(1, Math.floor(key.length / 4));
  const near = HA_CONFIG_KEYS.filter((k) => editDistance(k, key) <= limit);
  return near.length === 1 ? near[0] : undefined;
}

/** Optimal string alignment distance (a swap of two neighbours counts as one edit). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The value as a problem shows it: passwords never, long values cut. */
function show(key: string, v: unknown): string {
  if (SECRET.has(key) || /password/i.test(key)) return '[redacted]';
  const text = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Records a problem with a setting (key as the operator writes it, e.g. `standbys[1].name`). */
type BadFn = (key: string, reason: string, value?: unknown, hasValue?: boolean) => void;

/** The settings of one parse: the known, non-empty values, and every problem and warning found. */
class Settings {
  readonly values = new Map<string, unknown>();
  readonly problems: HaConfigProblem[] = [];
  readonly warnings: string[] = [];

  constructor(
    raw: Record<string, unknown>,
    private readonly origins: Partial<Record<string, string>>,
  ) {
    for (const [k, v] of Object.entries(raw)) {
      const key = settingKey(k);
      if (!KNOWN.has(key)) {
        const near = closestKey(key);
        const hint = near ? `; did you mean ${near}?` : '';
        this.warnings.push(`unknown HA setting ${k}${origins[k] ? ` (from ${origins[k]})` : ''} ignored${hint}`);
        continue;
      }
      if (!isAbsent(v)) this.values.set(key, v);
    }
  }

  readonly bad: BadFn = (key, reason, value, hasValue = value !== undefined) => {
    const top = key.replace(/\[.*$/, '');
    this.problems.push({ key, envName: haEnvName(top), reason, shown: hasValue ? show(key, value) : undefined, origin: this.origins[top] || undefined });
  };

  has(key: HaConfigKey): boolean {
    return this.values.has(key);
  }

  /** The parsed value, `fallback` when unset, or `fallback` and a problem when it does not parse. */
  get<T>(key: HaConfigKey, parse: (v: unknown) => T): T | undefined;
  get<T>(key: HaConfigKey, parse: (v: unknown) => T, fallback: T): T;
  get<T>(key: HaConfigKey, parse: (v: unknown) => T, fallback?: T): T | undefined {
    if (!this.values.has(key)) return fallback;
    const v = this.values.get(key);
    try {
      return parse(v);
    } catch (e) {
      if (!(e instanceof BadValue)) throw e;
      this.bad(key, e.message, v);
      return fallback;
    }
  }
}

/**
 * Validates a merged snake_case (or camelCase) map of settings, values as YAML or environment
 * strings, into an HaConfig; pure. Throws `Vns3HaConfigError` listing every problem at once.
 */
export function parseHaConfig(raw: Record<string, unknown>, source: HaConfigSource = {}): HaConfig {
  const s = new Settings(raw, source.origins ?? {});
  const cfg = readSettings(s);
  if (cfg.insecure) s.warnings.push('insecure is true: TLS certificates of controllers are not verified');
  if (s.problems.length > 0) throw new Vns3HaConfigError(s.problems, s.warnings);
  // Optional fields that stayed undefined are left out so that the object prints cleanly.
  for (const k of Object.keys(cfg) as (keyof HaConfig)[]) if (cfg[k] === undefined) delete cfg[k];
  return cfg;
}

/** Every setting with its default, problems going to `s` (read in the order problems are listed). */
function readSettings(s: Settings): HaConfig {
  const mode = s.get('mode', oneOf(['primary', 'secondary'] as const));
  const cloud = s.get('cloud', oneOf<HaCloud>(mode === 'primary' ? ['aws', 'azure'] : ['aws', 'azure', 'overlay']));
  if (!s.has('mode')) s.bad('mode', 'is required (primary or secondary)');
  // Without a valid mode, only what both modes need is reported, to keep the list short.
  for (const key of REQUIRED[mode ?? 'primary']) {
    if (key === 'mode' || s.has(key)) continue;
    // An enumerated setting says what it may be, so that the operator need not look it up.
    const allowed = key === 'cloud' ? ` (one of ${(mode === 'primary' ? ['aws', 'azure'] : ['aws', 'azure', 'overlay']).join(', ')})` : '';
    s.bad(key, `${mode ? `is required in ${mode} mode` : 'is required'}${allowed}`);
  }
  const sleepTimeS = s.get('sleep_time', num({ min: 0.001, max: MAX_SECONDS, unit: 'seconds' }), 15);
  const apiPort = s.get('api_port', num({ min: 1, max: 65535, integer: true }), 8000);
  const peerPublicIp = s.get('peer_public_ip', ip);
  const myUnderlayIp = s.get('my_underlay_ip', ip);
  const peerUnderlayIp = s.get('peer_underlay_ip', ip);
  const standbys = parseStandbys(s.values, apiPort, s.bad);
  return {
    mode: mode ?? 'secondary',
    cloud: cloud ?? 'overlay',
    peerPublicIp,
    myUnderlayIp,
    peerUnderlayIp,
    peerOverlayIp: s.get('peer_overlay_ip', ipv4),
    myApiPassword: s.get('my_api_password', nonEmpty),
    peerApiPassword: s.get('peer_api_password', nonEmpty),
    sleepTimeS,
    logLevel: s.get('log_level', oneOf<HaLogLevel>(['debug', 'info', 'warn', 'error']), 'info'),
    checkIntervalMs: Math.round(s.get('check_interval', num({ min: 0.001, max: MAX_SECONDS, unit: 'seconds' }), sleepTimeS) * 1000),
    fall: s.get('fall', num({ min: 1, integer: true }), 3),
    rise: s.get('rise', num({ min: 1, integer: true }), 3),
    preempt: s.get('preempt', bool, true),
    preemptDelayMs: Math.round(s.get('preempt_delay', num({ min: 0, max: MAX_SECONDS, unit: 'seconds' }), 0) * 1000),
    priority: s.get('priority', num({ min: 0, integer: true }), 100),
    standbys,
    observers: parseObservers(s.values.get('observers'), apiPort, s.bad),
    statePath: s.get('state_path', nonEmpty),
    leasePeriodMs: ms(s.get('lease_period', num({ min: 0.001, max: MAX_SECONDS, unit: 'seconds' }))),
    dryRun: s.get('dry_run', bool, false),
    cloudVeto: s.get('cloud_veto', bool, true),
    apiPort,
    myApiUrl: s.get('my_api_url', url, myUnderlayIp && apiUrlFor(myUnderlayIp, apiPort)),
    peerApiUrl: s.get('peer_api_url', url, peerUnderlayIp && apiUrlFor(peerUnderlayIp, apiPort)),
    peerPublicApiUrl: s.get('peer_public_api_url', url, peerPublicIp && apiUrlFor(peerPublicIp, apiPort)),
    caFile: s.get('ca_file', nonEmpty),
    myFingerprint256: s.get('my_fingerprint256', fingerprint),
    peerFingerprint256: s.get('peer_fingerprint256', fingerprint),
    insecure: s.get('insecure', bool, false),
    awsRegion: s.get('aws_region', nonEmpty),
    awsVpcId: s.get('aws_vpc_id', nonEmpty),
    awsRouteTableTags: s.get('aws_route_table_tags', tags, {}),
    awsEndpoint: s.get('aws_endpoint', url),
    azureSubscriptionId: s.get('azure_subscription_id', nonEmpty),
    azureResourceGroup: s.get('azure_resource_group', nonEmpty),
    azureRouteTableTags: s.get('azure_route_table_tags', tags, {}),
    azureEndpoint: s.get('azure_endpoint', url),
    azureCaFile: s.get('azure_ca_file', nonEmpty),
    metricsPort: s.get('metrics_port', num({ min: 0, max: 65535, integer: true })),
    // Loopback unless named: the endpoint has no authentication (it shows no secret either).
    metricsHost: s.get('metrics_host', (v) => (str(v) === 'localhost' ? 'localhost' : ip(v)), '127.0.0.1'),
    warnings: s.warnings,
  };
}

const STANDBY_KEYS = ['name', 'underlay_ip', 'public_ip', 'priority', 'api_url', 'api_password'];

/**
 * The `standbys` list (YAML list, or JSON from the environment). Problems go to `bad` rather than
 * being thrown, so that one run reports every bad standby field.
 */
function parseStandbys(values: Map<string, unknown>, apiPort: number, bad: BadFn): HaStandby[] {
  if (!values.has('standbys')) return [];
  const list = listSetting('standbys', values.get('standbys'), '{name, underlay_ip, priority, ...}', bad);
  if (!list) return [];
  const out: HaStandby[] = [];
  const names = new Set<string>();
  list.forEach((item: unknown, i) => {
    const standby = parseStandby(item, `standbys[${i}]`, apiPort, names, bad);
    if (standby) out.push(standby);
  });
  return out;
}

/** One entry of `standbys`, or undefined (its problems reported) when it lacks a name, IP or priority. */
function parseStandby(item: unknown, at: string, apiPort: number, names: Set<string>, bad: BadFn): HaStandby | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    bad(at, 'must be a map with name, underlay_ip and priority');
    return undefined;
  }
  const o = item as Record<string, unknown>;
  const field = <T>(k: string, parse: (v: unknown) => T, required: boolean): T | undefined => {
    if (isAbsent(o[k])) {
      if (required) bad(`${at}.${k}`, 'is required');
      return undefined;
    }
    try {
      return parse(o[k]);
    } catch (e) {
      if (!(e instanceof BadValue)) throw e;
      bad(`${at}.${k}`, e.message, o[k]);
      return undefined;
    }
  };
  for (const k of Object.keys(o)) if (!STANDBY_KEYS.includes(k)) bad(`${at}.${k}`, 'is not a standby setting');
  const name = field('name', nonEmpty, true);
  const underlayIp = field('underlay_ip', ip, true);
  const publicIp = field('public_ip', ip, false);
  const priority = field('priority', num({ min: 0, integer: true }), true);
  const apiUrl = field('api_url', url, false);
  const apiPassword = field('api_password', nonEmpty, false);
  if (name !== undefined && names.has(name)) bad(`${at}.name`, 'is used by an earlier standby', name);
  if (name === undefined || underlayIp === undefined || priority === undefined) return undefined;
  names.add(name);
  return { name, underlayIp, publicIp, priority, apiUrl: apiUrl ?? apiUrlFor(underlayIp, apiPort), apiPassword };
}

/** A copy safe to log: passwords replaced by `[redacted]`. */
export function redactHaConfig(cfg: HaConfig): HaConfig {
  const r = (s: string | undefined): string | undefined => (s === undefined ? undefined : '[redacted]');
  const out: HaConfig = {
    ...cfg,
    standbys: cfg.standbys.map((s) => (s.apiPassword === undefined ? { ...s } : { ...s, apiPassword: '[redacted]' })),
    observers: (cfg.observers ?? []).map((o) => (o.apiPassword === undefined ? { ...o } : { ...o, apiPassword: '[redacted]' })),
  };
  if (cfg.myApiPassword !== undefined) out.myApiPassword = r(cfg.myApiPassword);
  if (cfg.peerApiPassword !== undefined) out.peerApiPassword = r(cfg.peerApiPassword);
  return out;
}
