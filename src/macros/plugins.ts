/**
 * The container system ("network edge plugins"): start it, import images, run
 * containers, read logs. Mirrors the Python SDK's `network_edge_plugins`
 * macros, but each function reads what the controller has and changes only
 * the difference, so running it twice writes nothing the second time.
 *
 * Environment encoding: the API takes a container's environment as ONE
 * string. We send a `Record<string, string>` as newline-separated `KEY=value`
 * lines (keys match /^[A-Za-z_][A-Za-z0-9_]*$/, values hold no line breaks).
 * Values are often passwords, so no message or event ever shows one; a
 * difference is reported by variable name only.
 */
import { Vns3ConnectionError, Vns3Error, Vns3TimeoutError, Vns3ValidationError } from '../client/errors.js';
import type { Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { WaitingMacroOptions } from './options.js';
import { pollUntil } from './wait.js';

export interface ContainerSystemStatus {
  /** CIDR of the container (plugin) network. */
  network: string;
  /** Whether this call started the container system. */
  started: boolean;
}

/** Starts the container system unless it runs, and waits until it does. */
export async function ensureContainerSystem(client: Vns3Client, opts: WaitingMacroOptions = {}): Promise<ContainerSystemStatus> {
  const { signal, onEvent } = opts;
  const controller = client.host;
  let state = await client.get('/container_system', { signal });
  if (state.running === true) return { network: state.network, started: false };
  const wait = (what: string, done: (r: typeof state.running) => boolean) =>
    pollUntil(
      { what, controller, probe: (s) => client.get('/container_system', { signal: s }), done: (st) => done(st.running), describe: (st) => `running: ${String(st.running)}` },
      { timeoutMs: opts.timeoutMs ?? 120_000, intervalMs: opts.intervalMs ?? 250, signal, onEvent },
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

// ------------------------------------------------------------------ images

export interface ImageSpec {
  name: string;
  url?: string;
  buildurl?: string;
  localbuild?: string;
  localimage?: string;
  imagefile?: string;
  buildfile?: string;
  description?: string;
}

export interface ImageInfo {
  id: string;
  name: string;
  status: string;
  statusMessage?: string;
}

export type ImageAction = 'none' | 'import' | 'reimport';

export interface EnsuredImage {
  /** The image id to start containers from (undefined only in a dry run that would import). */
  id?: string;
  name: string;
  action: ImageAction;
}

export interface EnsureImageOptions extends WaitingMacroOptions {
  /** An image of that name whose import failed is deleted and imported again (else: Vns3ImageImportError). */
  replaceFailed?: boolean;
  /** Say what would be done, write nothing. */
  dryRun?: boolean;
}

/** An image import failed on the controller; `statusMessage` is the controller's own reason. */
export class Vns3ImageImportError extends Vns3Error {
  readonly image: string;
  readonly statusMessage: string;
  constructor(controller: string, image: string, statusMessage: string, hint = '') {
    super(`Import of image ${image} failed on ${controller}: ${statusMessage}${hint}`, { controller });
    this.name = 'Vns3ImageImportError';
    this.image = image;
    this.statusMessage = statusMessage;
  }
}

const SOURCES = ['url', 'buildurl', 'localbuild', 'localimage', 'imagefile', 'buildfile'] as const;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function toImageInfo(raw: Record<string, unknown>): ImageInfo {
  const msg = str(raw.status_msg);
  return {
    id: str(raw.id) ?? str(raw.uuid) ?? str(raw.import_id) ?? '',
    name: str(raw.image_name) ?? str(raw.name) ?? '',
    status: str(raw.status) ?? '',
    ...(msg ? { statusMessage: msg } : {}),
  };
}

export function imageReady(i: ImageInfo): boolean {
  return i.status.toLowerCase() === 'ready';
}
export function imageFailed(i: ImageInfo): boolean {
  return /fail|error/i.test(i.status);
}

export async function listImages(client: Vns3Client, opts: { signal?: AbortSignal; uuid?: string } = {}): Promise<ImageInfo[]> {
  const query = opts.uuid ? { uuid: opts.uuid } : {};
  const res = await client.get('/container_system/images', { params: { query }, signal: opts.signal });
  return (res.images ?? []).filter((i): i is NonNullable<typeof i> => i != null).map((i) => toImageInfo(i as Record<string, unknown>));
}

/** An image by id, import id or name. */
export async function findImage(client: Vns3Client, nameOrId: string, opts: { signal?: AbortSignal } = {}): Promise<ImageInfo | undefined> {
  const images = await listImages(client, opts);
  return images.find((i) => i.id === nameOrId) ?? images.find((i) => i.name === nameOrId);
}

/** Checks a name and exactly one source; returns the request body. */
export function validateImageSpec(spec: ImageSpec, controller?: string): Record<string, string> {
  const ctl = controller ? { controller } : {};
  if (!spec || typeof spec.name !== 'string' || spec.name.trim() === '') throw new Vns3ValidationError('image.name', spec?.name, 'must be a non-empty string', ctl);
  const given = SOURCES.filter((k) => spec[k] !== undefined);
  if (given.length !== 1) throw new Vns3ValidationError('image source', given, `give exactly one of ${SOURCES.join(', ')}`, ctl);
  const key = given[0]!;
  const value = spec[key];
  if (typeof value !== 'string' || value.trim() === '') throw new Vns3ValidationError(`image.${key}`, value, 'must be a non-empty string', ctl);
  return { name: spec.name, [key]: value, ...(spec.description !== undefined ? { description: spec.description } : {}) };
}

function isLostReply(e: unknown): boolean {
  return e instanceof Vns3ConnectionError || e instanceof Vns3TimeoutError;
}

async function waitForImage(client: Vns3Client, id: string, name: string, opts: WaitingMacroOptions): Promise<ImageInfo> {
  const image = await pollUntil(
    {
      what: `image ${name} import`,
      controller: client.host,
      probe: async (signal) => (await listImages(client, { signal, uuid: id })).find((i) => i.id === id || i.name === name) ?? { id, name, status: 'unknown' },
      done: (i) => imageReady(i) || imageFailed(i),
      describe: (i) => `status: ${i.status}`,
    },
    { timeoutMs: opts.timeoutMs ?? 600_000, intervalMs: opts.intervalMs ?? 500, signal: opts.signal, onEvent: opts.onEvent },
  );
  if (imageFailed(image)) throw new Vns3ImageImportError(client.host, name, image.statusMessage ?? image.status);
  return image;
}

/**
 * Finds the image by name, else imports it; waits until it is `Ready`. An
 * import that fails throws Vns3ImageImportError with the controller's reason.
 */
export async function ensureImage(client: Vns3Client, spec: ImageSpec, opts: EnsureImageOptions = {}): Promise<EnsuredImage> {
  const controller = client.host;
  const body = validateImageSpec(spec, controller);
  const { signal, onEvent } = opts;
  const existing = await findImage(client, spec.name, { signal });
  let action: ImageAction = 'import';
  if (existing && imageFailed(existing)) {
    if (!opts.replaceFailed) {
      throw new Vns3ImageImportError(controller, spec.name, existing.statusMessage ?? existing.status, ' (an earlier import failed; pass replaceFailed: true to delete it and import again)');
    }
    action = 'reimport';
  } else if (existing) {
    if (opts.dryRun || imageReady(existing)) return { id: existing.id, name: spec.name, action: 'none' };
    // Imported by an earlier run that did not wait for it.
    const ready = await waitForImage(client, existing.id, spec.name, opts);
    return { id: ready.id, name: spec.name, action: 'none' };
  }
  if (opts.dryRun) return { ...(existing ? { id: existing.id } : {}), name: spec.name, action };
  if (existing) {
    emit(onEvent, { controller, step: 'plugins.image', detail: `deleting failed image ${spec.name}` });
    await client.delete('/container_system/images/{uuid}', { params: { path: { uuid: existing.id } }, signal });
  }
  emit(onEvent, { controller, step: 'plugins.image', detail: `importing image ${spec.name}` });
  let importId: string;
  try {
    importId = (await client.post('/container_system/images', { body: body as { name: string; url: string }, signal })).import_uuid;
  } catch (e) {
    // The reply was lost, not necessarily the request: look before importing twice.
    if (!isLostReply(e)) throw e;
    const found = await findImage(client, spec.name, { signal }).catch(() => undefined);
    if (!found) throw e;
    importId = found.id;
  }
  const ready = await waitForImage(client, importId, spec.name, opts);
  emit(onEvent, { controller, step: 'plugins.image', detail: `image ${spec.name} ready` });
  return { id: ready.id, name: spec.name, action };
}

// -------------------------------------------------------------- containers

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

export type ContainerAction = 'none' | 'start' | 'restart' | 'replace';

export interface EnsuredContainer {
  action: ContainerAction;
  name: string;
  uuid?: string;
  ipAddress?: string;
  /** What differed from the desired container (names only). */
  differences: string[];
}

export interface EnsureContainerOptions extends WaitingMacroOptions {
  /** Stop, delete and start again a container of that name that differs. Else Vns3ContainerConflictError. */
  replace?: boolean;
  dryRun?: boolean;
}

/** A container of that name exists but differs, and `replace` was not given. Names what differs, never values. */
export class Vns3ContainerConflictError extends Vns3Error {
  readonly container: string;
  readonly differences: string[];
  constructor(controller: string, container: string, differences: string[]) {
    super(`Container ${container} on ${controller} differs from the desired one in ${differences.join('; ')} (pass replace: true to replace it)`, { controller });
    this.name = 'Vns3ContainerConflictError';
    this.container = container;
    this.differences = differences;
  }
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Encodes an environment record as the API's single string; Vns3ValidationError on a bad key or a value with a line break. */
export function encodeEnvironment(env: Record<string, string>, controller?: string): string {
  const ctl = controller ? { controller } : {};
  const lines: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_KEY.test(key)) throw new Vns3ValidationError('environment key', key, 'must match /^[A-Za-z_][A-Za-z0-9_]*$/', ctl);
    if (typeof value !== 'string') throw new Vns3ValidationError(`environment.${key}`, typeof value, 'must be a string', ctl);
    if (/[\r\n]/.test(value)) throw new Vns3ValidationError(`environment.${key}`, value, 'must not contain a line break', { ...ctl, secret: true });
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
    ...(imageId ? { imageId } : {}),
    ...(imageName ? { imageName } : {}),
    ...(command !== undefined ? { command } : {}),
    env: flatEnv !== undefined ? envMap(flatEnv.split(/\r?\n/)) : dockerEnv(config.Env),
    envExact: flatEnv !== undefined,
    ...(ip ? { ipAddress: ip } : {}),
    running: flatStatus !== undefined ? /^running$/i.test(flatStatus) : state.Running === true,
  };
}

export async function listContainers(client: Vns3Client, opts: { signal?: AbortSignal } = {}): Promise<ContainerInfo[]> {
  // Without show_all a stopped container is invisible and would be started twice.
  const res = await client.get('/container_system/containers', { params: { query: { show_all: true } }, signal: opts.signal });
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
  if (!spec || typeof spec.name !== 'string' || spec.name.trim() === '') throw new Vns3ValidationError('container.name', spec?.name, 'must be a non-empty string', ctl);
  if (typeof spec.image !== 'string' || spec.image.trim() === '') throw new Vns3ValidationError('container.image', spec.image, 'must be an image name or id', ctl);
  if (typeof spec.command !== 'string') throw new Vns3ValidationError('container.command', spec.command, 'must be a string', ctl);
  return encodeEnvironment(spec.environment ?? {}, controller);
}

/**
 * Makes a container of that name run the desired image, command, environment
 * (and IP if given). Same and running: nothing; same and stopped: restarted;
 * different: replaced when `replace`, else Vns3ContainerConflictError.
 */
export async function ensureContainer(client: Vns3Client, spec: ContainerSpec, opts: EnsureContainerOptions = {}): Promise<EnsuredContainer> {
  const controller = client.host;
  const environment = checkContainerSpec(spec, controller);
  const { signal, onEvent } = opts;
  const [image, containers] = await Promise.all([findImage(client, spec.image, { signal }), listContainers(client, { signal })]);
  const existing = containers.find((c) => c.name === spec.name);
  if (!image && !opts.dryRun) throw new Vns3ValidationError('container.image', spec.image, 'no image with that name or id on the controller', { controller });
  if (image && !imageReady(image) && !opts.dryRun) throw new Vns3ValidationError('container.image', spec.image, `image is not ready (status ${image.status})`, { controller });
  const differences = existing ? containerDifferences(existing, spec, image) : [];
  let action: ContainerAction = 'start';
  if (existing) action = differences.length > 0 ? 'replace' : existing.running ? 'none' : 'restart';
  if (action === 'replace' && !opts.replace) throw new Vns3ContainerConflictError(controller, spec.name, differences);
  const result = (uuid: string | undefined, ip: string | undefined): EnsuredContainer => ({
    action,
    name: spec.name,
    ...(uuid ? { uuid } : {}),
    ...(ip ? { ipAddress: ip } : {}),
    differences,
  });
  if (action === 'none' || opts.dryRun) return result(existing?.uuid, spec.ipAddress ?? existing?.ipAddress);

  await ensureContainerSystem(client, opts);
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
    ...(environment !== '' ? { environment } : {}),
    ...(ip ? { ipaddress: ip } : {}),
    ...(spec.description !== undefined ? { description: spec.description } : {}),
  };
  try {
    const started = await client.post('/container_system/containers', { body, signal });
    return result(started.uuid, started.ip_address ?? ip);
  } catch (e) {
    if (!isLostReply(e)) throw e;
    const found = (await listContainers(client, { signal }).catch(() => [])).find((c) => c.name === spec.name);
    if (!found) throw e;
    return result(found.uuid, found.ipAddress);
  }
}

export interface ContainerLogsOptions {
  /** Last lines to read; default 100. */
  lines?: number;
  signal?: AbortSignal;
}

/** The last log lines of a container given by name or uuid. */
export async function containerLogs(client: Vns3Client, nameOrUuid: string, opts: ContainerLogsOptions = {}): Promise<string[]> {
  const lines = opts.lines ?? 100;
  if (!Number.isInteger(lines) || lines < 1) throw new Vns3ValidationError('lines', lines, 'must be a whole number of at least 1', { controller: client.host });
  const containers = await listContainers(client, { signal: opts.signal });
  const found = containers.find((c) => c.uuid === nameOrUuid) ?? containers.find((c) => c.name === nameOrUuid);
  if (!found) throw new Vns3ValidationError('container', nameOrUuid, 'no container with that name or uuid', { controller: client.host });
  const res = await client.get('/container_system/containers/{uuid}/logs', { params: { path: { uuid: found.uuid }, query: { lines } }, signal: opts.signal });
  return res.logs;
}
