/**
 * What `deployHaPlugin` (ha-plugin.ts) takes and what it derives from it for each agent: the
 * input's checks (before anything is read or written) and the HAENV_ variables of each side's
 * container, run through the agent's own configuration parser so that a deployment the agent would
 * refuse is refused here, before any write.
 */
import { Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { parseHaConfig, type HaCloud, type HaLogLevel, type HaMode } from '../ha/config.js';
import { tieBreakProblem } from '../ha/config-observers.js';
import { cidrContains, isIPv4, parseCidr } from '../net/index.js';
import { encodeEnvironment, type ContainerInfo } from './containers.js';
import { validateImageSpec, type ImageSpec } from './images.js';
import { checkFlags, hasControl, MAX_DURATION_MS } from './core/validate.js';

/**
 * A controller of the mesh that watches the primary for the secondary's agent: its own view of the
 * primary (over its own links) breaks a tie the pair cannot, so that a secondary cut off from a
 * live primary does not take its routes. Written as `HAENV_OBSERVERS`.
 */
export interface HaPluginObserver {
  /** How the agent names it in events and problems. */
  name: string;
  /** Its underlay (private) IP; the agent reaches its API at `https://<underlayIp>:8000`. Give this or `apiUrl`. */
  underlayIp?: string;
  /** Its API's URL when not at the underlay IP's port 8000. */
  apiUrl?: string;
  /** The API password of that controller (never shown: redacted in results and errors). */
  apiPassword: string;
}

/** The pair, the plugin image and the agent settings `deployHaPlugin` deploys. */
export interface DeployHaPluginInput {
  primary: Vns3Client;
  secondary: Vns3Client;
  cloud: HaCloud;
  /**
   * The agent's image: an image spec (`{ name, url }`, `{ name, buildurl }`, … as the controller
   * imports it), or the URL of an image archive (`docker save … | gzip`, e.g. of this SDK's
   * `docker/ha` image), imported as `vns3-ha`. The controller imports images from URLs (archive or
   * build context), not from a registry: publish the archive, or a Dockerfile `FROM <registry ref>`
   * as `{ name, buildurl }`.
   */
  image: ImageSpec | string;
  /** Every controller of the mesh, for lock-down routes; default [primary, secondary]. */
  mesh?: readonly Vns3Client[];
  /**
   * Further controllers of the mesh the secondary's agent asks about the primary (see
   * {@link HaPluginObserver}). Required with `cloud: 'overlay'`: no witness of the pair can then
   * tell a dead primary from a cut-off one. An observer's underlay IP also gets a lock-down route.
   */
  observers?: readonly HaPluginObserver[];
  /** VPC / VNet CIDR for the DNS route; else each controller's cloud data (`vpcCidr`, `vnetCidr`). */
  vpcCidr?: string;
  primaryApiPassword: string;
  secondaryApiPassword: string;
  /** Underlay (private) IPs when not the one `GET /config` reports, e.g. a secondary NIC address. */
  primaryUnderlayIp?: string;
  secondaryUnderlayIp?: string;
  /** Public IPs when the controllers do not report them. */
  primaryPublicIp?: string;
  secondaryPublicIp?: string;
  /** Seconds between checks (HAENV_SLEEP_TIME); default 15. */
  sleepTime?: number;
  logLevel?: HaLogLevel;
  /** Default `vns3-ha`. */
  containerName?: string;
  /** Container command; default '' (the image's own). */
  command?: string;
  /** Plugin IP on both controllers; default: the existing container's, else the first free one. */
  pluginIp?: string;
  /** More variables for both agents (e.g. HAENV_AWS_REGION); may not override the derived HAENV_ ones. */
  extraEnv?: Record<string, string>;
  dryRun?: boolean;
  /** Replace a differing container and re-import a failed image. */
  replace?: boolean;
}

/** What ha-plugin.ts read of one controller. */
export interface Observed {
  client: Vns3Client;
  host: string;
  privateIp: string;
  publicIp?: string;
  overlayIp?: string;
  subnet?: string;
  gateway?: string;
  vpcCidr?: string;
  /** The cloud region (`GET /cloud_data`), when the controller reports one. */
  region?: string;
  network: string;
  systemRunning: boolean;
  freeIps?: string[];
  containers: ContainerInfo[];
  rules: string[];
}

const CLOUDS: readonly HaCloud[] = ['aws', 'azure', 'overlay'];
const LOG_LEVELS: readonly HaLogLevel[] = ['debug', 'info', 'warn', 'error'];
const DERIVED = ['MODE', 'CLOUD', 'PEER_PUBLIC_IP', 'MY_UNDERLAY_IP', 'PEER_UNDERLAY_IP', 'PEER_OVERLAY_IP', 'MY_API_PASSWORD', 'PEER_API_PASSWORD', 'SLEEP_TIME', 'LOG_LEVEL', 'OBSERVERS'];
const DERIVED_KEYS = DERIVED.map((k) => `HAENV_${k}`);
const OPTION_OF: Record<string, string> = { HAENV_OBSERVERS: 'observers' };
const OBSERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;

function fail(field: string, value: unknown, reason: string, secret = false): never {
  throw new Vns3ValidationError(field, value, reason, { secret });
}

function validateObservers(observers: unknown): void {
  if (observers === undefined) return;
  if (!Array.isArray(observers)) fail('observers', observers, 'must be a list of {name, underlayIp or apiUrl, apiPassword}');
  const names = new Set<string>();
  observers.forEach((o: unknown, i) => {
    const at = `observers[${i}]`;
    if (o === null || typeof o !== 'object') fail(at, o, 'must be {name, underlayIp or apiUrl, apiPassword}');
    const { name, underlayIp, apiUrl, apiPassword } = o as Partial<HaPluginObserver>;
    if (typeof name !== 'string' || !OBSERVER_NAME.test(name)) fail(`${at}.name`, name, 'letters, digits, _ . : - only (1 to 63)');
    if (names.has(name)) fail(`${at}.name`, name, 'is used by another observer');
    names.add(name);
    if (underlayIp === undefined && apiUrl === undefined) fail(`${at}.underlayIp`, undefined, 'give underlayIp or apiUrl');
    if (underlayIp !== undefined && !isIPv4(underlayIp)) fail(`${at}.underlayIp`, underlayIp, 'must be an IPv4 address');
    if (apiUrl !== undefined && !(typeof apiUrl === 'string' && /^https?:\/\/[^\s/]+/.test(apiUrl) && URL.canParse(apiUrl))) fail(`${at}.apiUrl`, apiUrl, 'must be an http(s) URL such as https://10.0.3.10:8000');
    if (typeof apiPassword !== 'string' || apiPassword.trim() === '' || hasControl(apiPassword)) fail(`${at}.apiPassword`, apiPassword, 'must be a non-empty string without control characters', true);
  });
}

/** The input with its image as the controller imports it. */
export type ResolvedHaPluginInput = DeployHaPluginInput & { image: ImageSpec };

/** The image name a URL alone (`image: 'https://…/vns3-ha.tar.gz'`) is imported as. */
export const HA_PLUGIN_IMAGE_NAME = 'vns3-ha';

/**
 * The image spec of `image`: a spec as is; a URL as an archive to import under
 * {@link HA_PLUGIN_IMAGE_NAME}. Throws Vns3ValidationError for any other string (a registry
 * reference: the controller cannot pull one).
 */
export function resolveImage(image: ImageSpec | string): ImageSpec {
  if (typeof image !== 'string') return image;
  if (!/^https?:\/\/\S+$/.test(image) || !URL.canParse(image)) {
    fail('image', image, 'must be an image spec or the http(s) URL of an image archive; a controller imports from URLs, not registries (use { name, buildurl } with a Dockerfile FROM the reference)');
  }
  return { name: HA_PLUGIN_IMAGE_NAME, url: image };
}

/** Checks `deployHaPlugin`'s input; throws Vns3ValidationError naming the field (secrets redacted). */
export function validateInput(input: ResolvedHaPluginInput): void {
  if (!input || !input.primary || !input.secondary) fail('primary/secondary', undefined, 'both controllers are required');
  if (input.primary === input.secondary || input.primary.host === input.secondary.host) fail('secondary', input.secondary.host, 'must be another controller than the primary');
  if (!CLOUDS.includes(input.cloud)) fail('cloud', input.cloud, 'must be aws, azure or overlay');
  for (const f of ['primaryApiPassword', 'secondaryApiPassword'] as const) {
    if (typeof input[f] !== 'string' || input[f].trim() === '' || hasControl(input[f])) fail(f, input[f], 'must be a non-empty string without control characters', true);
  }
  if (input.sleepTime !== undefined && !(typeof input.sleepTime === 'number' && Number.isFinite(input.sleepTime) && input.sleepTime > 0 && input.sleepTime * 1000 <= MAX_DURATION_MS)) fail('sleepTime', input.sleepTime, 'must be a positive number of seconds');
  if (input.logLevel !== undefined && !LOG_LEVELS.includes(input.logLevel)) fail('logLevel', input.logLevel, `must be one of ${LOG_LEVELS.join(', ')}`);
  if (input.containerName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(input.containerName)) fail('containerName', input.containerName, 'letters, digits, _ . - only');
  if (input.command !== undefined && (typeof input.command !== 'string' || hasControl(input.command))) fail('command', input.command, 'must be a single-line string');
  checkFlags(input, ['dryRun', 'replace']);
  validateImageSpec(input.image);
  for (const f of ['pluginIp', 'primaryUnderlayIp', 'secondaryUnderlayIp', 'primaryPublicIp', 'secondaryPublicIp'] as const) {
    if (input[f] !== undefined && !isIPv4(input[f])) fail(f, input[f], 'must be an IPv4 address');
  }
  if (input.vpcCidr !== undefined) parseCidr(input.vpcCidr, 'vpcCidr');
  validateObservers(input.observers);
  const extra = input.extraEnv ?? {};
  encodeEnvironment(extra);
  for (const k of Object.keys(extra)) {
    if (DERIVED_KEYS.includes(k)) fail(`extraEnv.${k}`, k, `is derived by deployHaPlugin; use the ${OPTION_OF[k] ? `${OPTION_OF[k]} option` : 'matching option'} instead`);
  }
}

/** `HAENV_OBSERVERS` for the agent: the JSON list its `observers` setting reads. */
function observersEnv(observers: readonly HaPluginObserver[]): string {
  return JSON.stringify(observers.map((o) => ({ name: o.name, underlay_ip: o.underlayIp, api_url: o.apiUrl, api_password: o.apiPassword })));
}

/**
 * The HAENV_ variables of one side's agent, with `extraEnv`; checked by the agent's own parser.
 * Throws Vns3ValidationError for a value the controllers cannot supply or the agent would refuse
 * (`observers` missing where a tie must be broken), Vns3HaConfigError for the rest.
 */
export function agentEnv(input: ResolvedHaPluginInput, role: HaMode, me: Observed, peer: Observed): Record<string, string> {
  const primaryObs = role === 'primary' ? me : peer;
  const myUnderlay = (role === 'primary' ? input.primaryUnderlayIp : input.secondaryUnderlayIp) ?? me.privateIp;
  const peerUnderlay = (role === 'primary' ? input.secondaryUnderlayIp : input.primaryUnderlayIp) ?? peer.privateIp;
  const peerPublic = (role === 'primary' ? input.secondaryPublicIp : input.primaryPublicIp) ?? peer.publicIp;
  const check = (field: string, value: string | undefined, o: Observed, reason: string): string => {
    if (!value) throw new Vns3ValidationError(field, value, reason, { controller: o.host });
    return value;
  };
  const env: Record<string, string> = {
    HAENV_MODE: role,
    HAENV_CLOUD: input.cloud,
    HAENV_PEER_PUBLIC_IP: check('peer_public_ip', peerPublic, peer, `the ${role === 'primary' ? 'secondary' : 'primary'} reports no public IP; give ${role === 'primary' ? 'secondaryPublicIp' : 'primaryPublicIp'}`),
  };
  // Each side checks its own address; the peer's is the same value, checked when its env is built.
  if (me.subnet && !cidrContains(me.subnet, myUnderlay)) {
    throw new Vns3ValidationError('my_underlay_ip', myUnderlay, `not in the subnet ${me.subnet} of ${me.host}`, { controller: me.host });
  }
  // The plugin document lists the underlay IPs for the secondary only; the primary gets them too,
  // because an agent finds its own instance in the cloud by its underlay IP (vns3-ha needs it).
  env.HAENV_MY_UNDERLAY_IP = myUnderlay;
  env.HAENV_PEER_UNDERLAY_IP = peerUnderlay;
  if (input.cloud === 'aws' && me.region) env.HAENV_AWS_REGION = me.region;
  if (role === 'secondary') {
    env.HAENV_PEER_OVERLAY_IP = check('peer_overlay_ip', primaryObs.overlayIp, primaryObs, 'the primary reports no overlay IP (is it licensed and peered?)');
    env.HAENV_MY_API_PASSWORD = input.secondaryApiPassword;
    env.HAENV_PEER_API_PASSWORD = input.primaryApiPassword;
    // Only the secondary's agent judges the primary; the primary's has no use for observers.
    if (input.observers && input.observers.length > 0) env.HAENV_OBSERVERS = observersEnv(input.observers);
  }
  env.HAENV_SLEEP_TIME = String(input.sleepTime ?? 15);
  env.HAENV_LOG_LEVEL = input.logLevel ?? 'info';
  const all = { ...(input.extraEnv ?? {}), ...env };
  // The agent will run parseHaConfig on exactly this; refuse here what it would refuse there.
  const haVars = Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('HAENV_')).map(([k, val]) => [k.slice(6).toLowerCase(), val]));
  const parsed = parseHaConfig(haVars, { origins: Object.fromEntries(Object.keys(haVars).map((k) => [k, `${role} HAENV_${k.toUpperCase()}`])) });
  const tie = tieBreakProblem(parsed); // the agent refuses a standby with nobody to break a tie
  if (tie) throw new Vns3ValidationError('observers', undefined, tie, { controller: me.host });
  return all;
}

/** The environment as results show it: every password, secret, token or key redacted. */
export function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, val]) => [k, k === 'HAENV_OBSERVERS' ? redactObservers(val) : /pass|secret|token|key/i.test(k) ? '[redacted]' : val]));
}

/** HAENV_OBSERVERS carries each observer's password inside its JSON: those go, the rest stays readable. */
function redactObservers(json: string): string {
  try {
    const list = JSON.parse(json) as Record<string, unknown>[];
    return JSON.stringify(list.map((o) => ({ ...o, ...(o.api_password === undefined ? {} : { api_password: '[redacted]' }) })));
  } catch {
    return '[redacted]';
  }
}
