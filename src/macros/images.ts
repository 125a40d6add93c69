/**
 * Container images of the container system: list, find, import. `ensureImage`
 * looks for the image by name before importing it, so running it twice imports
 * nothing the second time.
 */
import { isOutcomeUnknown, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { components } from '../generated/vns3.js';
import { Vns3ImageImportError } from './core/errors.js';
import { pollUntil } from './core/poll-until.js';
import { checkTiming } from './core/poller.js';
import type { WaitingMacroOptions } from './core/types.js';
import { converge } from './core/reconcile.js';
import { checkFlags, checkHttpUrl, checkText, hasControl } from './core/validate.js';

/** An image to import, as `POST /container_system/images` takes it: `name` and exactly one source. */
export type ImageSpec = Omit<components['schemas']['ImageCreateRequest'], 'version'>;

/** An image as the controller lists it. */
export interface ImageInfo {
  id: string;
  name: string;
  status: string;
  statusMessage?: string;
}

/** What `ensureImage` did. */
export type ImageAction = 'none' | 'import' | 'reimport';

/** What `ensureImage` did, and the image to start containers from. */
export interface EnsureImageResult {
  /** The image id to start containers from (undefined only in a dry run that would import). */
  id?: string;
  name: string;
  action: ImageAction;
}

/** How `ensureImage` imports and waits. */
export interface EnsureImageOptions extends WaitingMacroOptions {
  /** An image of that name whose import failed is deleted and imported again (else: Vns3ImageImportError). */
  replaceFailed?: boolean;
  /** Say what would be done, write nothing. */
  dryRun?: boolean;
}

const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;
const SOURCES = ['url', 'buildurl', 'localbuild', 'localimage', 'imagefile', 'buildfile'] as const;

/** A non-empty string field of a controller answer; shared with containers.ts, which reads the same loose shapes. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function toImageInfo(raw: Record<string, unknown>): ImageInfo {
  const msg = str(raw.status_msg);
  return {
    id: str(raw.id) ?? str(raw.uuid) ?? str(raw.import_id) ?? '',
    name: str(raw.image_name) ?? str(raw.name) ?? '',
    status: str(raw.status) ?? '',
    statusMessage: msg,
  };
}

/** The import finished. */
export function imageReady(i: ImageInfo): boolean {
  return i.status.toLowerCase() === 'ready';
}
/** The import failed (the controller says why in `statusMessage`). */
export function imageFailed(i: ImageInfo): boolean {
  return /fail|error/i.test(i.status);
}

/** The controller's images (or the one import `uuid`); rejects with the client's error. */
export async function listImages(client: Vns3Client, options: { signal?: AbortSignal; uuid?: string } = {}): Promise<ImageInfo[]> {
  // Absent, not undefined: the query string would print `uuid=undefined`.
  const query = options.uuid ? { uuid: options.uuid } : {};
  const res = await client.get('/container_system/images', { params: { query }, signal: options.signal });
  return (res.images ?? []).filter((i): i is NonNullable<typeof i> => i != null).map((i) => toImageInfo(i as Record<string, unknown>));
}

/** An image by id, import id or name. */
export async function findImage(client: Vns3Client, nameOrId: string, options: { signal?: AbortSignal } = {}): Promise<ImageInfo | undefined> {
  const images = await listImages(client, options);
  return images.find((i) => i.id === nameOrId) ?? images.find((i) => i.name === nameOrId);
}

/** Checks a name and exactly one source (else Vns3ValidationError); returns the request body. */
export function validateImageSpec(spec: ImageSpec, controller?: string): Record<string, string | undefined> {
  const ctl = { controller };
  if (!spec || typeof spec !== 'object') throw new Vns3ValidationError('image', spec, 'must be an image spec object', ctl);
  checkText('image.name', spec.name, { max: 128, pattern: IMAGE_NAME, hint: 'must be an image name of letters, digits, and . _ : / - (at most 128)', controller });
  if (spec.description !== undefined && (typeof spec.description !== 'string' || hasControl(spec.description))) {
    throw new Vns3ValidationError('image.description', spec.description, 'must be a single-line string', ctl);
  }
  const given = SOURCES.filter((k) => spec[k] !== undefined);
  if (given.length !== 1) throw new Vns3ValidationError('image source', given, `give exactly one of ${SOURCES.join(', ')}`, ctl);
  const key = given[0]!;
  const value = spec[key];
  if (typeof value !== 'string' || value.trim() === '') throw new Vns3ValidationError(`image.${key}`, value, 'must be a non-empty string', ctl);
  // The controller downloads these itself: only http(s), never file:, javascript: or data:.
  if (key === 'url' || key === 'buildurl') checkHttpUrl(`image.${key}`, value, controller);
  else if (key !== 'buildfile' && key !== 'imagefile' && hasControl(value)) throw new Vns3ValidationError(`image.${key}`, value, 'must be a single line', ctl);
  return { name: spec.name, [key]: value, description: spec.description };
}

async function waitForImage(client: Vns3Client, id: string, name: string, options: WaitingMacroOptions): Promise<ImageInfo> {
  const image = await pollUntil(
    {
      what: `image ${name} import`,
      controller: client.host,
      probe: async (signal) => (await listImages(client, { signal, uuid: id })).find((i) => i.id === id || i.name === name) ?? { id, name, status: 'unknown' },
      done: (i) => imageReady(i) || imageFailed(i),
      describe: (i) => `status: ${i.status}`,
    },
    { timeoutMs: options.timeoutMs ?? 600_000, intervalMs: options.intervalMs ?? 500, signal: options.signal, onEvent: options.onEvent },
  );
  if (imageFailed(image)) throw new Vns3ImageImportError(client.host, name, image.statusMessage ?? image.status);
  return image;
}

/**
 * Finds the image by name, else imports it; waits until it is `Ready`. Throws Vns3ValidationError
 * for a bad spec before any request, Vns3ImageImportError with the controller's reason when an
 * import failed, Vns3WaitTimeoutError when the import takes longer than `timeoutMs` (default 600 000).
 */
export async function ensureImage(client: Vns3Client, spec: ImageSpec, options: EnsureImageOptions = {}): Promise<EnsureImageResult> {
  const controller = client.host;
  const body = validateImageSpec(spec, controller);
  checkTiming(options);
  checkFlags(options, ['replaceFailed', 'dryRun'], controller);
  return converge(controller, 'plugins.image', () => importImage(client, spec, body, options), options);
}

async function importImage(client: Vns3Client, spec: ImageSpec, body: Record<string, string | undefined>, options: EnsureImageOptions): Promise<EnsureImageResult> {
  const controller = client.host;
  const { signal, onEvent } = options;
  const existing = await findImage(client, spec.name, { signal });
  let action: ImageAction = 'import';
  if (existing && imageFailed(existing)) {
    if (!options.replaceFailed) {
      throw new Vns3ImageImportError(controller, spec.name, existing.statusMessage ?? existing.status, ' (an earlier import failed; pass replaceFailed: true to delete it and import again)');
    }
    action = 'reimport';
  } else if (existing) {
    if (options.dryRun || imageReady(existing)) return { id: existing.id, name: spec.name, action: 'none' };
    // Imported by an earlier run that did not wait for it.
    const ready = await waitForImage(client, existing.id, spec.name, options);
    return { id: ready.id, name: spec.name, action: 'none' };
  }
  if (options.dryRun) return { id: existing?.id, name: spec.name, action };
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
    if (!isOutcomeUnknown(e)) throw e;
    const found = await findImage(client, spec.name, { signal }).catch(() => undefined);
    if (!found) throw e;
    importId = found.id;
  }
  const ready = await waitForImage(client, importId, spec.name, options);
  emit(onEvent, { controller, step: 'plugins.image', detail: `image ${spec.name} ready` });
  return { id: ready.id, name: spec.name, action };
}
