/**
 * The container system ("network edge plugins"), its containers and their logs. Mirrors the Python
 * SDK's `network_edge_plugins` macros, but reads what the controller has first: `ensureContainer`
 * compares the running container with the desired one and changes only the difference, so running
 * it twice writes nothing the second time. Images are in images.ts.
 *
 * Environment encoding: the API takes a container's environment as ONE
 * string. We send a `Record<string, string>` as newline-separated `KEY=value`
 * lines (keys match /^[A-Za-z_][A-Za-z0-9_]*$/, values hold no line breaks).
 * Values are often passwords, so no message or event ever shows one; a
 * difference is reported by variable name only.
 */
import { isOutcomeUnknown, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { Vns3ContainerConflictError } from './core/errors.js';
import { pollUntil } from './core/poll-until.js';
import { checkTiming } from './core/poller.js';
import type { WaitingMacroOptions } from './core/types.js';
import { converge } from './core/reconcile.js';
import { checkFlags, checkText, hasControl } from './core/validate.js';
import { isIp } from '../net/index.js';
import { findImage, imageReady, str, type ImageInfo } from './images.js';

/** What `ensureContainerSystem` found or did. */
export interface EnsureContainerSystemResult {
  /** CIDR of the container (plugin) network. */
  network: string;
  /** Whether this call started the container system. */
  started: boolean;
}

/**
 * Starts the container system unless it runs, and waits until it does (default 120 000 ms). Throws
 * Vns3WaitTimeoutError when it does not come up in time, the client's error when a request fails.
 */
export async function ensureContainerSystem(client: Vns3Client, options: WaitingMacroOptions = {}): Promise<EnsureContainerSystemResult> {
  const { signal, onEvent } = options;
  checkTiming(options);
  const controller = client.host;
  let state = await client.get('/container_system', { signal });
  if (state.running === true) return { network: state.network, started: false };
  const wait = (what: string, done: (running: typeof state.running) => boolean) =>
    pollUntil(
      { what, controller, probe: (s) => client.get('/container_system', { signal: s }), done: (st) => done(st.running), describe: (st) => `running: ${String(st.running)}` },
      { timeoutMs: options.timeoutMs ?? 120_000, intervalMs: options.intervalMs ?? 250, signal, onEvent },
    );
  // A start sent while it is stopping would be lost: let the stop finish first.
  if (state.running === 'stopping') state = await wait('container system to stop', (r) => r === false);
  if (state.running === false) {
    emit(onEvent, { controller, step: 'plugins.system', detail: 'starting the container system' });
    await client.post('/container_system', { body: { action: 'start' }, signal, retry: true });
  }
  state = await wait('container system to start', (r) => r === true);
  return { network: state.network, started: true };
}

/** The desired container. */
export interface ContainerSpec {
  name: string;
  /** Image name or id. */
  image: string;
  command: string;
  /** Sent as newline-separated KEY=value lines (see the module comment). */
  environment?: Record<string, string>;
  ipAddress?: string;
  description?: string;
}

/** A container as the controller reports it (flat or Docker-inspect fields). */
export interface ContainerInfo {
  uuid: string;
  name: string;
  /** Image id as reported (flat `image`/`image_uuid`, else Docker `Image`). */
  imageId?: string;
  /** Image name as reported (Docker `Config.Image`). */
  imageName?: string;
  command?: string;
  /** From the flat `environment` string (exact) or Docker `Config.Env` (includes the image's own variables). */
  env: Map<string, string>;
  envExact: boolean;
  ipAddress?: string;
  running: boolean;
}

/** What `ensureContainer` did. */
export type ContainerAction = 'none' | 'start' | 'restart' | 'replace';

/** What `ensureContainer` did, and the container it left. */
export interface EnsureContainerResult {
  action: ContainerAction;
  name: string;
  uuid?: string;
  ipAddress?: string;
  /** What differed from the desired container (names only). */
  differences: string[];
}

/** How `ensureContainer` reconciles. */
export interface EnsureContainerOptions extends WaitingMacroOptions {
  /** Stop, delete and start again a container of that name that differs. Else Vns3ContainerConflictError. */
  replace?: boolean;
  dryRun?: boolean;
}

const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Encodes an environment record as the API's single string; Vns3ValidationError on a bad key or a value with a line break. */
export function encodeEnvironment(env: Record<string, string>, controller?: string): string {
  const ctl = { controller };
  const lines: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_KEY.test(key)) throw new Vns3ValidationError('environment key', key, 'must match /^[A-Za-z_][A-Za-z0-9_]*$/', ctl);
    if (typeof value !== 'string') throw new Vns3ValidationError(`environment.${key}`, typeof value, 'must be a string', ctl);
    if (hasControl(value)) throw new Vns3ValidationError(`environment.${key}`, value, 'must not contain a line break, NUL or other control character', { ...ctl, secret: true });
    lines.push(`${key}=${value}`);
  }
  return lines.join('\n');
}

function envMap(lines: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0) m.set(line.slice(0, eq).trim(), line.slice(eq + 1));
  }
  return m;
}

function dockerEnv(env: unknown): Map<string, string> {
  if (Array.isArray(env)) return envMap(env.filter((l): l is string => typeof l === 'string'));
  if (env && typeof env === 'object') return new Map(Object.entries(env).map(([k, v]) => [k, String(v)]));
  return new Map();
}

function commandText(cmd: unknown): string | undefined {
  if (Array.isArray(cmd)) return cmd.map(String).join(' ');
  return typeof cmd === 'string' ? cmd : undefined;
}

/** Reads flat fields first, then the Docker-inspect ones, since controller versions differ. */
export function toContainerInfo(raw: Record<string, unknown>): ContainerInfo {
  const config = (raw.Config ?? {}) as Record<string, unknown>;
  const state = (raw.State ?? {}) as Record<string, unknown>;
  const net = (raw.NetworkSettings ?? {}) as Record<string, unknown>;
  const flatEnv = typeof raw.environment === 'string' ? raw.environment : undefined;
  const flatStatus = str(raw.status);
  const ip = str(raw.ip_address) ?? str(net.IPAddress);
  const imageId = str(raw.image) ?? str(raw.image_uuid) ?? str(raw.Image);
  const imageName = str(config.Image);
  const command = commandText(raw.command ?? config.Cmd);
  return {
    uuid: str(raw.id) ?? str(raw.uuid) ?? str(raw.Id) ?? '',
    name: (str(raw.name) ?? str(raw.Name) ?? '').replace(/^\//, ''),
    imageId,
    imageName,
    command,
    env: flatEnv !== undefined ? envMap(flatEnv.split(/\r?\n/)) : dockerEnv(config.Env),
    envExact: flatEnv !== undefined,
    ipAddress: ip,
    running: flatStatus !== undefined ? /^running$/i.test(flatStatus) : state.Running === true,
  };
}

/** Every container, stopped ones included; rejects with the client's error. */
export async function listContainers(client: Vns3Client, options: { signal?: AbortSignal } = {}): Promise<ContainerInfo[]> {
  // Without show_all a stopped container is invisible and would be started twice.
  const res = await client.get('/container_system/containers', { params: { query: { show_all: true } }, signal: options.signal });
  return (res.containers ?? []).map((c) => toContainerInfo(c as Record<string, unknown>));
}

/** What differs between a container and the desired one: names of fields and variables only. */
export function containerDifferences(actual: ContainerInfo, desired: ContainerSpec, image: ImageInfo | undefined): string[] {
  const out: string[] = [];
  if (image) {
    const sameId = actual.imageId !== undefined && actual.imageId === image.id;
    const sameName = actual.imageName !== undefined && (actual.imageName === image.name || actual.imageName.startsWith(`${image.name}:`));
    if (!sameId && !sameName && (actual.imageId !== undefined || actual.imageName !== undefined)) out.push('image');
  }
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ');
  if (desired.command.trim() !== '' && actual.command !== undefined && norm(actual.command) !== norm(desired.command)) out.push('command');
  const want = desired.environment ?? {};
  const keys = Object.keys(want).filter((k) => actual.env.get(k) !== want[k]);
  // Docker's Env also holds the image's own variables (PATH…): only an exact report shows extras.
  if (actual.envExact) for (const k of actual.env.keys()) if (!(k in want)) keys.push(k);
  if (keys.length > 0) out.push(`environment (${keys.sort().join(', ')})`);
  if (desired.ipAddress !== undefined && actual.ipAddress !== undefined && actual.ipAddress !== desired.ipAddress) out.push('ipAddress');
  return out;
}

function checkContainerSpec(spec: ContainerSpec, controller: string): string {
  const ctl = { controller };
  if (!spec || typeof spec !== 'object') throw new Vns3ValidationError('container', spec, 'must be a container spec object', ctl);
  // Docker's rule for names; `../x` or a space would address something else on the controller.
  checkText('container.name', spec.name, { max: 128, pattern: CONTAINER_NAME, hint: 'must start with a letter or digit and hold only letters, digits, _ . - (at most 128)', controller });
  checkText('container.image', spec.image, { max: 255, hint: 'must be an image name or id (one line)', controller });
  if (typeof spec.command !== 'string' || hasControl(spec.command)) throw new Vns3ValidationError('container.command', spec.command, 'must be a single-line string', ctl);
  if (spec.ipAddress !== undefined && (typeof spec.ipAddress !== 'string' || !isIp(spec.ipAddress))) throw new Vns3ValidationError('container.ipAddress', spec.ipAddress, 'must be an IP address', ctl);
  if (spec.description !== undefined && (typeof spec.description !== 'string' || hasControl(spec.description))) {
    throw new Vns3ValidationError('container.description', spec.description, 'must be a single-line string', ctl);
  }
  const env: unknown = spec.environment ?? {};
  if (env === null || typeof env !== 'object' || Array.isArray(env)) throw new Vns3ValidationError('container.environment', typeof env, 'must be an object of KEY: value strings', ctl);
  return encodeEnvironment(env as Record<string, string>, controller);
}

/**
 * Makes a container of that name run the desired image, command, environment (and IP if given).
 * Same and running: nothing; same and stopped: restarted; different: replaced when `replace`, else
 * Vns3ContainerConflictError. Throws Vns3ValidationError for a bad spec or a missing / unready
 * image before any write, the client's error when a request fails.
 */
export async function ensureContainer(client: Vns3Client, spec: ContainerSpec, options: EnsureContainerOptions = {}): Promise<EnsureContainerResult> {
  const controller = client.host;
  const environment = checkContainerSpec(spec, controller);
  checkTiming(options);
  checkFlags(options, ['replace', 'dryRun'], controller);
  return converge(controller, 'plugins.container', () => reconcileContainer(client, spec, environment, options), options);
}

async function reconcileContainer(client: Vns3Client, spec: ContainerSpec, environment: string, options: EnsureContainerOptions): Promise<EnsureContainerResult> {
  const controller = client.host;
  const { signal, onEvent } = options;
  const [image, containers] = await Promise.all([findImage(client, spec.image, { signal }), listContainers(client, { signal })]);
  const existing = containers.find((c) => c.name === spec.name);
  if (!image && !options.dryRun) throw new Vns3ValidationError('container.image', spec.image, 'no image with that name or id on the controller', { controller });
  if (image && !imageReady(image) && !options.dryRun) throw new Vns3ValidationError('container.image', spec.image, `image is not ready (status ${image.status})`, { controller });
  const differences = existing ? containerDifferences(existing, spec, image) : [];
  let action: ContainerAction = 'start';
  if (existing) action = differences.length > 0 ? 'replace' : existing.running ? 'none' : 'restart';
  if (action === 'replace' && !options.replace) throw new Vns3ContainerConflictError(controller, spec.name, differences);
  const result = (uuid: string | undefined, ip: string | undefined): EnsureContainerResult => ({
    action,
    name: spec.name,
    uuid: uuid || undefined,
    ipAddress: ip || undefined,
    differences,
  });
  if (action === 'none' || options.dryRun) return result(existing?.uuid, spec.ipAddress ?? existing?.ipAddress);

  await ensureContainerSystem(client, options);
  if (action === 'restart') {
    emit(onEvent, { controller, step: 'plugins.container', detail: `restarting container ${spec.name}` });
    await client.post('/container_system/containers', { body: { uuid: existing!.uuid }, signal });
    return result(existing!.uuid, existing!.ipAddress);
  }
  if (action === 'replace') {
    emit(onEvent, { controller, step: 'plugins.container', detail: `replacing container ${spec.name}`, data: { differences } });
    if (existing!.running) await client.put('/container_system/containers/{uuid}', { params: { path: { uuid: existing!.uuid } }, signal });
    await client.delete('/container_system/containers/{uuid}', { params: { path: { uuid: existing!.uuid } }, signal });
  } else {
    emit(onEvent, { controller, step: 'plugins.container', detail: `starting container ${spec.name}` });
  }
  // A replaced container keeps its address unless another is asked for: peers and rules refer to it.
  const ip = spec.ipAddress ?? existing?.ipAddress;
  const body = {
    image_uuid: image!.id,
    name: spec.name,
    command: spec.command,
    environment: environment || undefined,
    ipaddress: ip || undefined,
    description: spec.description,
  };
  try {
    const started = await client.post('/container_system/containers', { body, signal });
    return result(started.uuid, started.ip_address ?? ip);
  } catch (e) {
    if (!isOutcomeUnknown(e)) throw e;
    const found = (await listContainers(client, { signal }).catch(() => [])).find((c) => c.name === spec.name);
    if (!found) throw e;
    return result(found.uuid, found.ipAddress);
  }
}

/** How many log lines `containerLogs` reads. */
export interface ContainerLogsOptions {
  /** Last lines to read; default 100. */
  lines?: number;
  signal?: AbortSignal;
}

/**
 * The last log lines of a container given by name or uuid. Throws Vns3ValidationError for a bad
 * `lines` or an unknown container, the client's error when a request fails.
 */
export async function containerLogs(client: Vns3Client, nameOrUuid: string, options: ContainerLogsOptions = {}): Promise<string[]> {
  const { lines = 100, signal } = options;
  if (!Number.isInteger(lines) || lines < 1) throw new Vns3ValidationError('lines', lines, 'must be a whole number of at least 1', { controller: client.host });
  const containers = await listContainers(client, { signal });
  const found = containers.find((c) => c.uuid === nameOrUuid) ?? containers.find((c) => c.name === nameOrUuid);
  if (!found) throw new Vns3ValidationError('container', nameOrUuid, 'no container with that name or uuid', { controller: client.host });
  const res = await client.get('/container_system/containers/{uuid}/logs', { params: { path: { uuid: found.uuid }, query: { lines } }, signal });
  return res.logs;
}
