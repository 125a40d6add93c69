/**
 * The HA agent's configuration, as the VNS3 HA plugin defines it: a YAML file
 * (default /opt/hacontainer/conf/vars.yml) and/or `HAENV_`-prefixed
 * environment variables, the environment winning over the file. Our own
 * settings (fall/rise, preemption, extra standbys, TLS, cloud details) use the
 * same two channels. Every problem is collected and reported at once, by the
 * name the operator writes, because a container that dies on the first bad
 * variable takes a restart per typo.
 */
import { access, readFile } from 'node:fs/promises';
import { load } from 'js-yaml';
import { Vns3Error } from '../client/errors.js';
import {
  apiUrlFor,
  BadValue,
  bool,
  fingerprint,
  ip,
  ipv4,
  isAbsent,
  nonEmpty,
  num,
  oneOf,
  parseStandbys,
  tags,
  url,
} from './config-values.js';

export const DEFAULT_HA_CONFIG_FILE = '/opt/hacontainer/conf/vars.yml';
export const HA_ENV_PREFIX = 'HAENV_';

export type HaMode = 'primary' | 'secondary';
export type HaCloud = 'aws' | 'azure' | 'overlay';
export type HaLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A further standby peer, for meshes with more than one secondary. */
export interface HaStandby {
  name: string;
  underlayIp: string;
  publicIp?: string;
  priority: number;
  /** Default `https://<underlay_ip>:<api_port>`. */
  apiUrl: string;
  apiPassword?: string;
}

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
  /** Unknown keys and risky settings; never fatal. */
  warnings: string[];
}

export const HA_CONFIG_KEYS = [
  'mode', 'cloud', 'peer_public_ip', 'my_underlay_ip', 'peer_underlay_ip', 'peer_overlay_ip',
  'my_api_password', 'peer_api_password', 'sleep_time', 'log_level',
  'check_interval', 'fall', 'rise', 'preempt', 'preempt_delay', 'priority', 'standbys', 'dry_run', 'cloud_veto',
  'api_port', 'my_api_url', 'peer_api_url', 'peer_public_api_url',
  'ca_file', 'my_fingerprint256', 'peer_fingerprint256', 'insecure',
  'aws_region', 'aws_vpc_id', 'aws_route_table_tags', 'aws_endpoint',
  'azure_subscription_id', 'azure_resource_group', 'azure_route_table_tags', 'azure_endpoint', 'azure_ca_file',
] as const;
export type HaConfigKey = (typeof HA_CONFIG_KEYS)[number];

const KNOWN = new Set<string>(HA_CONFIG_KEYS);
const SECRET = new Set<string>(['my_api_password', 'peer_api_password']);
const REQUIRED: Record<HaMode, HaConfigKey[]> = {
  primary: ['mode', 'cloud', 'peer_public_ip'],
  secondary: ['mode', 'cloud', 'peer_public_ip', 'my_underlay_ip', 'peer_underlay_ip', 'peer_overlay_ip', 'my_api_password', 'peer_api_password'],
};

export function haEnvName(key: string): string {
  return HA_ENV_PREFIX + key.toUpperCase();
}

export interface HaConfigProblem {
  /** As the operator writes it in vars.yml, e.g. `peer_overlay_ip` or `standbys[1].underlay_ip`. */
  key: string;
  envName: string;
  reason: string;
  /** The bad value as shown in messages; passwords are `[redacted]`. */
  shown?: string;
  /** Where the value came from (file path, `environment`, `overrides`). */
  origin?: string;
}

export class Vns3HaConfigError extends Vns3Error {
  readonly problems: HaConfigProblem[];
  readonly warnings: string[];

  constructor(problems: HaConfigProblem[], warnings: string[] = []) {
    const lines = problems.map((p) => {
      const value = p.shown === undefined ? '' : ` = ${p.shown}`;
      const origin = p.origin ? ` [from ${p.origin}]` : '';
      return `  - ${p.key} (${p.envName})${value}: ${p.reason}${origin}`;
    });
    const n = problems.length;
    super(`Invalid HA configuration (${n} problem${n === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'Vns3HaConfigError';
    this.problems = problems;
    this.warnings = warnings;
  }
}

/** Where each key's value came from, for messages. */
export interface HaConfigSource {
  origins?: Partial<Record<string, string>>;
}

/** The value as a problem shows it: passwords never, long values cut. */
function show(key: string, v: unknown): string {
  if (SECRET.has(key) || /password/i.test(key)) return '[redacted]';
  const text = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Maps camelCase override keys (`peerPublicIp`) to the snake_case the rest of the module uses. */
function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Validates a merged snake_case map (values as YAML or env strings) into an HaConfig; pure. */
export function parseHaConfig(raw: Record<string, unknown>, source: HaConfigSource = {}): HaConfig {
  const problems: HaConfigProblem[] = [];
  const warnings: string[] = [];
  const origins = source.origins ?? {};
  const values = new Map<string, unknown>();
  for (const [k, v] of Object.entries(raw)) {
    const key = KNOWN.has(k) ? k : snake(k);
    if (!KNOWN.has(key)) {
      warnings.push(`unknown HA setting ${k}${origins[k] ? ` (from ${origins[k]})` : ''} ignored`);
      continue;
    }
    if (!isAbsent(v)) values.set(key, v);
  }
  const bad = (key: string, reason: string, value?: unknown, hasValue = value !== undefined): void => {
    const top = key.replace(/\[.*$/, '');
    problems.push({
      key,
      envName: haEnvName(top),
      reason,
      ...(hasValue ? { shown: show(key, value) } : {}),
      ...(origins[top] ? { origin: origins[top] } : {}),
    });
  };
  function get<T>(key: HaConfigKey, parse: (v: unknown) => T): T | undefined;
  function get<T>(key: HaConfigKey, parse: (v: unknown) => T, dflt: T): T;
  function get<T>(key: HaConfigKey, parse: (v: unknown) => T, dflt?: T): T | undefined {
    if (!values.has(key)) return dflt;
    const v = values.get(key);
    try {
      return parse(v);
    } catch (e) {
      if (!(e instanceof BadValue)) throw e;
      bad(key, e.message, v);
      return dflt;
    }
  }

  const mode = get('mode', oneOf(['primary', 'secondary'] as const));
  const cloudAllowed = mode === 'primary' ? (['aws', 'azure'] as const) : (['aws', 'azure', 'overlay'] as const);
  const cloud = get('cloud', oneOf<HaCloud>(cloudAllowed));
  if (!values.has('mode')) bad('mode', 'is required (primary or secondary)');
  // Without a valid mode, only what both modes need is reported, to keep the list short.
  for (const key of REQUIRED[mode ?? 'primary']) {
    if (key !== 'mode' && !values.has(key)) bad(key, mode ? `is required in ${mode} mode` : 'is required');
  }

  const sleepTimeS = get('sleep_time', num({ min: 0.001, unit: 'seconds' }), 15);
  const apiPort = get('api_port', num({ min: 1, max: 65535, integer: true }), 8000);
  const peerPublicIp = get('peer_public_ip', ip);
  const myUnderlayIp = get('my_underlay_ip', ip);
  const peerUnderlayIp = get('peer_underlay_ip', ip);
  const standbys = parseStandbys(values, apiPort, bad);

  const cfg: HaConfig = {
    mode: mode ?? 'secondary',
    cloud: cloud ?? 'overlay',
    peerPublicIp,
    myUnderlayIp,
    peerUnderlayIp,
    peerOverlayIp: get('peer_overlay_ip', ipv4),
    myApiPassword: get('my_api_password', nonEmpty),
    peerApiPassword: get('peer_api_password', nonEmpty),
    sleepTimeS,
    logLevel: get('log_level', oneOf<HaLogLevel>(['debug', 'info', 'warn', 'error']), 'info'),
    checkIntervalMs: Math.round(get('check_interval', num({ min: 0.001, unit: 'seconds' }), sleepTimeS) * 1000),
    fall: get('fall', num({ min: 1, integer: true }), 3),
    rise: get('rise', num({ min: 1, integer: true }), 3),
    preempt: get('preempt', bool, true),
    preemptDelayMs: Math.round(get('preempt_delay', num({ min: 0, unit: 'seconds' }), 0) * 1000),
    priority: get('priority', num({ min: 0, integer: true }), 100),
    standbys,
    dryRun: get('dry_run', bool, false),
    cloudVeto: get('cloud_veto', bool, true),
    apiPort,
    myApiUrl: get('my_api_url', url, myUnderlayIp && apiUrlFor(myUnderlayIp, apiPort)),
    peerApiUrl: get('peer_api_url', url, peerUnderlayIp && apiUrlFor(peerUnderlayIp, apiPort)),
    peerPublicApiUrl: get('peer_public_api_url', url, peerPublicIp && apiUrlFor(peerPublicIp, apiPort)),
    caFile: get('ca_file', nonEmpty),
    myFingerprint256: get('my_fingerprint256', fingerprint),
    peerFingerprint256: get('peer_fingerprint256', fingerprint),
    insecure: get('insecure', bool, false),
    awsRegion: get('aws_region', nonEmpty),
    awsVpcId: get('aws_vpc_id', nonEmpty),
    awsRouteTableTags: get('aws_route_table_tags', tags, {}),
    awsEndpoint: get('aws_endpoint', url),
    azureSubscriptionId: get('azure_subscription_id', nonEmpty),
    azureResourceGroup: get('azure_resource_group', nonEmpty),
    azureRouteTableTags: get('azure_route_table_tags', tags, {}),
    azureEndpoint: get('azure_endpoint', url),
    azureCaFile: get('azure_ca_file', nonEmpty),
    warnings,
  };
  if (cfg.insecure) warnings.push('insecure is true: TLS certificates of controllers are not verified');

  if (problems.length > 0) throw new Vns3HaConfigError(problems, warnings);
  // Optional fields that stayed undefined are left out so that the object prints cleanly.
  for (const k of Object.keys(cfg) as (keyof HaConfig)[]) if (cfg[k] === undefined) delete cfg[k];
  return cfg;
}

export interface LoadHaConfigOptions {
  /** The YAML file; default /opt/hacontainer/conf/vars.yml (may be absent); `null` reads no file. */
  file?: string | null;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Win over both file and environment; snake_case or camelCase keys. */
  overrides?: Record<string, unknown>;
}

function errCode(e: unknown): string | undefined {
  return e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

async function readVarsFile(path: string, mustExist: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!mustExist && errCode(e) === 'ENOENT') return undefined;
    throw new Vns3HaConfigError([{ key: 'file', envName: path, reason: `cannot be read (${errCode(e) ?? 'error'})` }]);
  }
  // js-yaml 5 refuses an empty document; an empty vars.yml just means "all from the environment".
  if (text.split('\n').every((line) => /^\s*(#.*)?$/.test(line))) return {};
  let doc: unknown;
  try {
    // json: true lets a repeated key (the plugin's own example repeats sleep_time) override the earlier one.
    doc = load(text, { json: true, filename: path });
  } catch (e) {
    // js-yaml's message quotes the offending lines, which may hold passwords: keep only reason and position.
    const y = e as { reason?: string; mark?: { line?: number; column?: number } };
    const where = y.mark?.line !== undefined ? ` at line ${y.mark.line + 1}, column ${(y.mark.column ?? 0) + 1}` : '';
    throw new Vns3HaConfigError([{ key: 'file', envName: path, reason: `is not valid YAML: ${y.reason ?? 'parse error'}${where}` }]);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Vns3HaConfigError([{ key: 'file', envName: path, reason: 'must be a YAML map of variable: value' }]);
  }
  return doc as Record<string, unknown>;
}

/** Reads the file (if any) and `HAENV_*`, environment winning, then overrides; validates everything at once. */
export async function loadHaConfig(opts: LoadHaConfigOptions = {}): Promise<HaConfig> {
  const env = opts.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  const file = opts.file === undefined ? DEFAULT_HA_CONFIG_FILE : opts.file;
  if (file !== null) {
    const fromFile = await readVarsFile(file, opts.file !== undefined);
    for (const [k, v] of Object.entries(fromFile ?? {})) {
      raw[k] = v;
      origins[k] = file;
    }
  }
  for (const [name, v] of Object.entries(env)) {
    // An empty variable counts as unset, so that `HAENV_X=` in a compose file does not hide the file's value.
    if (!name.startsWith(HA_ENV_PREFIX) || v === undefined || v.trim() === '') continue;
    const key = name.slice(HA_ENV_PREFIX.length).toLowerCase();
    raw[key] = v;
    origins[key] = name;
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    const key = KNOWN.has(k) ? k : snake(k);
    raw[key] = v;
    origins[key] = 'overrides';
  }
  const cfg = parseHaConfig(raw, { origins });
  const missing: HaConfigProblem[] = [];
  for (const [key, path] of [['ca_file', cfg.caFile], ['azure_ca_file', cfg.azureCaFile]] as const) {
    if (path === undefined) continue;
    try {
      await access(path);
    } catch (e) {
      missing.push({ key, envName: haEnvName(key), reason: `file cannot be read (${errCode(e) ?? 'error'})`, shown: JSON.stringify(path), ...(origins[key] ? { origin: origins[key] } : {}) });
    }
  }
  if (missing.length > 0) throw new Vns3HaConfigError(missing, cfg.warnings);
  return cfg;
}

/** A copy safe to log: passwords replaced. */
export function redactHaConfig(cfg: HaConfig): HaConfig {
  const r = (s: string | undefined): string | undefined => (s === undefined ? undefined : '[redacted]');
  const out: HaConfig = { ...cfg, standbys: cfg.standbys.map((s) => (s.apiPassword === undefined ? { ...s } : { ...s, apiPassword: '[redacted]' })) };
  if (cfg.myApiPassword !== undefined) out.myApiPassword = r(cfg.myApiPassword);
  if (cfg.peerApiPassword !== undefined) out.peerApiPassword = r(cfg.peerApiPassword);
  return out;
}
