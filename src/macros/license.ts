/**
 * Licensing: check and read the license, upload it, then accept its parameters (which reboots the
 * controller). Each step reads first and writes only if the controller is not there yet, so that a
 * rerun writes nothing.
 */
import { readFile, stat } from 'node:fs/promises';
import { Vns3ApiError, Vns3Error, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { components } from '../generated/vns3.js';
import { isCidr, isIPv4 } from '../net/index.js';
import { runBulk } from './core/bulk.js';
import { hasApiMessage, isTransientFailure, wrapStep } from './core/errors.js';
import { checkTiming } from './core/poller.js';
import { readThenWrite } from './core/read-then-write.js';
import { callOptions, type BulkMacroOptions, type BulkResult, type ControllerStepResult, type MacroOptions, type RequestOptions, type StepOutcome } from './core/types.js';
import { waitForApi, type RebootWaitOptions, type WaitForApiResult } from './core/wait-for-api.js';
import { converge } from './core/reconcile.js';
import { checkClients } from './core/validate.js';

/** License text, or a file that holds it. */
export type LicenseInput = string | { file: string };

/** `PUT /license/parameters`: the license's defaults, or explicit addressing. */
export type LicenseParametersInput =
  | { default: true }
  | {
      default?: false;
      /** CIDR of the overlay network. */
      subnet?: string;
      /** Overlay addresses of the controllers, in id order (list or space-separated). */
      managers?: string | readonly string[];
      /** ASNs of the controllers, in id order (list or space-separated). */
      asns?: string | readonly number[];
      /** Overlay client addresses or `a-b` ranges (list or comma-separated). */
      clients?: string | readonly string[];
      /** An address of the subnet shared by all controllers. */
      my_manager_vip?: string;
    };

/** The body the controller takes (`PUT /license/parameters`), lists flattened the way it wants them. */
export type LicenseParametersBody = components['schemas']['LicenseParametersRequest'];

/** How the license macros (`licenseControllers`, `acceptLicenses`) run. */
export interface LicenseControllersOptions extends BulkMacroOptions, RequestOptions {
  /** Fine-tuning of the wait after accepting (`acceptLicenses` only). */
  reboot?: RebootWaitOptions;
}

const MAX_LICENSE_BYTES = 512 * 1024;
const ACCEPTED_MESSAGE = 'License already accepted.';

/** Reads and checks the license before anything is sent; never puts its text in an error. */
export async function resolveLicense(input: unknown): Promise<string> {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else if (input !== null && typeof input === 'object' && typeof (input as { file?: unknown }).file === 'string') {
    const file = (input as { file: string }).file;
    text = await readLicenseFile(file);
  } else {
    throw new Vns3ValidationError('license', input === undefined ? undefined : typeof input, 'must be the license text or { file: path }');
  }
  if (text.trim().length === 0) throw new Vns3ValidationError('license', '', 'is empty');
  if (Buffer.byteLength(text) > MAX_LICENSE_BYTES) throw new Vns3ValidationError('license', '[redacted]', 'is too large to be a license', { secret: true });
  // A license is text; NUL bytes mean someone pointed us at a binary file.
  if (text.includes('\0')) throw new Vns3ValidationError('license', '[redacted]', 'is not text', { secret: true });
  return text;
}

async function readLicenseFile(file: string): Promise<string> {
  // The path is never shown: callers pass the license text here by mistake, and it would be echoed.
  const secret = { secret: true };
  if (file.trim().length === 0) throw new Vns3ValidationError('license.file', file, 'must be a path', secret);
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Vns3ValidationError('license.file', file, 'is not a regular file', secret);
    if (info.size > MAX_LICENSE_BYTES) throw new Vns3ValidationError('license.file', file, 'is too large to be a license', secret);
    return await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof Vns3ValidationError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'is not readable' : `cannot be read (${code ?? 'error'})`;
    throw new Vns3ValidationError('license.file', file, reason, secret);
  }
}

const splitWords = (v: string | readonly (string | number)[], sep: RegExp): string[] =>
  (typeof v === 'string' ? v.split(sep) : v.map(String)).map((s) => s.trim()).filter(Boolean);

/** Checks license parameters and builds the request body without touching the caller's object. */
export function licenseParametersBody(input: unknown): LicenseParametersBody {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new Vns3ValidationError('licenseParameters', input, 'must be { default: true } or explicit addressing');
  }
  const p = input as Record<string, unknown>;
  const known = new Set(['default', 'subnet', 'managers', 'asns', 'clients', 'my_manager_vip']);
  for (const key of Object.keys(p)) {
    if (!known.has(key)) throw new Vns3ValidationError(`licenseParameters.${key}`, p[key], 'is not a license parameter');
  }
  if (p.default !== undefined && typeof p.default !== 'boolean') {
    throw new Vns3ValidationError('licenseParameters.default', p.default, 'must be true or false');
  }
  const body: LicenseParametersBody = {};
  if (p.default === true) body.default = true;
  if (p.subnet !== undefined) {
    if (!isCidr(p.subnet)) throw new Vns3ValidationError('licenseParameters.subnet', p.subnet, 'must be an IPv4 CIDR');
    body.subnet = p.subnet as string;
  }
  const list = (field: string, sep: RegExp, check: (s: string) => boolean, reason: string): string[] | undefined => {
    const v = p[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' && !Array.isArray(v)) throw new Vns3ValidationError(`licenseParameters.${field}`, v, 'must be a string or a list');
    const items = splitWords(v as string | string[], sep);
    if (items.length === 0) throw new Vns3ValidationError(`licenseParameters.${field}`, v, 'is empty');
    const bad = items.find((s) => !check(s));
    if (bad !== undefined) throw new Vns3ValidationError(`licenseParameters.${field}`, bad, reason);
    return items;
  };
  const managers = list('managers', /[\s,]+/, isIPv4, 'must be IPv4 addresses');
  if (managers) body.managers = managers.join(' ');
  const asns = list('asns', /[\s,]+/, (s) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 4294967295, 'must be ASNs from 1 to 4294967295');
  if (asns) body.asns = asns.join(' ');
  const isRange = (s: string): boolean => isIPv4(s) || (s.split('-').length === 2 && s.split('-').every(isIPv4));
  const clients = list('clients', /[\s,]+/, isRange, 'must be IPv4 addresses or a-b ranges');
  if (clients) body.clients = clients.join(',');
  if (p.my_manager_vip !== undefined) {
    if (!isIPv4(p.my_manager_vip)) throw new Vns3ValidationError('licenseParameters.my_manager_vip', p.my_manager_vip, 'must be an IPv4 address');
    body.my_manager_vip = p.my_manager_vip as string;
  }
  const explicit = body.subnet !== undefined || body.managers !== undefined || body.asns !== undefined || body.clients !== undefined;
  if (body.default !== true && !explicit) {
    throw new Vns3ValidationError('licenseParameters', input, 'needs default: true or at least one of subnet, managers, asns, clients');
  }
  if (managers && asns && managers.length !== asns.length) {
    throw new Vns3ValidationError('licenseParameters.asns', p.asns, 'must have one ASN per manager address');
  }
  return body;
}

/** `GET /license`: absent until uploaded (the controller answers an error, not an empty license). */
export async function readLicenseState(client: Vns3Client, options: RequestOptions = {}): Promise<{ present: boolean; finalized: boolean }> {
  try {
    const license = await client.get('/license', callOptions(options));
    return { present: license.license_present !== false, finalized: license.finalized === true };
  } catch (error) {
    if (error instanceof Vns3ApiError && (error.status === 400 || error.status === 403 || error.status === 404)) return { present: false, finalized: false };
    throw error;
  }
}

function skip(options: MacroOptions, host: string, step: string, detail: string): StepOutcome {
  emit(options.onEvent, { controller: host, step, level: 'debug', detail: `unchanged: ${detail}` });
  return { step, changed: false, detail };
}

/** What the upload step needs to know of a controller; read when not given. */
interface UploadState {
  licensed: boolean;
  present: boolean;
}

async function readUploadState(client: Vns3Client, options: RequestOptions & { licensed?: boolean }): Promise<UploadState> {
  const licensed = options.licensed ?? (await client.get('/config', callOptions(options))).licensed === true;
  if (licensed) return { licensed, present: true };
  return { licensed, present: (await readLicenseState(client, options)).present };
}

/**
 * Uploads the license unless the controller is licensed or already has one uploaded. Throws
 * Vns3StepError (step `license.upload`) when a request fails.
 */
export async function ensureLicenseUploaded(
  client: Vns3Client,
  licenseText: string,
  options: RequestOptions & { licensed?: boolean; state?: UploadState } = {},
): Promise<StepOutcome> {
  const step = 'license.upload';
  const host = client.host;
  try {
    const state = options.state ?? (await readUploadState(client, options));
    if (state.licensed) return skip(options, host, step, 'already licensed');
    if (state.present) return skip(options, host, step, 'a license is already uploaded');
    emit(options.onEvent, { controller: host, step, detail: 'uploading license' });
    await client.put('/license', { body: licenseText, ...callOptions(options) });
    emit(options.onEvent, { controller: host, step, detail: 'license uploaded' });
    return { step, changed: true, detail: 'license uploaded' };
  } catch (error) {
    throw wrapStep(host, step, error, options.signal);
  }
}

/** Sends the accept; whether the controller will reboot. A reply lost on the way is decided by re-reading, not by resending. */
async function sendAccept(client: Vns3Client, body: LicenseParametersBody, options: RequestOptions & { reboot?: RebootWaitOptions }): Promise<boolean> {
  const host = client.host;
  emit(options.onEvent, { controller: host, step: 'license.accept', detail: 'accepting license parameters; the controller reboots' });
  try {
    await client.put('/license/parameters', { body, ...callOptions(options) });
    return true;
  } catch (error) {
    if (options.signal?.aborted) throw error;
    if (hasApiMessage(error, ACCEPTED_MESSAGE)) return false;
    if (!isTransientFailure(error)) throw error;
    emit(options.onEvent, { controller: host, step: 'license.accept', level: 'warn', detail: 'no reply to the accept; re-reading the license after the API answers' });
    await waitForApi(client, { ...options.reboot, signal: options.signal, onEvent: options.onEvent, healthyPolls: 1 });
    if (!(await readLicenseState(client, options)).finalized) throw error;
    return false;
  }
}

/**
 * Accepts the license parameters unless already accepted, then rides out the reboot this triggers.
 * Throws Vns3StepError (step `license.accept`) when no license is uploaded, a request fails, the
 * wait times out, or the controller comes back unlicensed.
 */
export async function ensureLicenseAccepted(
  client: Vns3Client,
  body: LicenseParametersBody,
  options: RequestOptions & { reboot?: RebootWaitOptions; licensed?: boolean } = {},
): Promise<StepOutcome & { reboot?: WaitForApiResult }> {
  const step = 'license.accept';
  const host = client.host;
  try {
    const licensed = options.licensed ?? (await client.get('/config', callOptions(options))).licensed === true;
    if (licensed) return skip(options, host, step, 'license already accepted');
    const state = await readLicenseState(client, options);
    if (!state.present) throw new Vns3Error(`no license is uploaded on ${host}; upload one before accepting it`, { controller: host });
    const expectReboot = state.finalized ? false : await sendAccept(client, body, options);
    const reboot = await waitForApi(client, { ...options.reboot, signal: options.signal, onEvent: options.onEvent, expectReboot });
    const config = await client.get('/config', callOptions(options));
    if (config.licensed !== true) throw new Vns3Error(`${host} answers again but is not licensed`, { controller: host });
    emit(options.onEvent, { controller: host, step, detail: 'license accepted; controller is back', data: { downMs: reboot.downMs, polls: reboot.polls } });
    return { step, changed: true, detail: 'license accepted', reboot };
  } catch (error) {
    throw wrapStep(host, step, error, options.signal);
  }
}

/**
 * Uploads the license to every controller that is not licensed and has none uploaded: reads every
 * controller first, then uploads in parallel. Throws Vns3ValidationError for a bad license before
 * any request; per-controller failures (Vns3StepError) are in `failed`.
 */
export async function licenseControllers(
  clients: readonly Vns3Client[],
  license: LicenseInput,
  options: LicenseControllersOptions = {},
): Promise<BulkResult<ControllerStepResult>> {
  checkClients(clients);
  const text = await resolveLicense(license);
  return readThenWrite(
    clients,
    {
      read: (client, context) =>
        readUploadState(client, { ...options, signal: context.signal }).catch((error: unknown) => {
          throw wrapStep(client.host, 'license.upload', error, context.signal);
        }),
      plan: (readings) => readings.map(() => text),
      write: async (client, licenseText, context) => ({
        host: client.host,
        ...(await ensureLicenseUploaded(client, licenseText, { ...options, signal: context.signal, state: context.reading })),
      }),
    },
    { ...options, readStep: 'license.read', writeStep: 'license.upload' },
  );
}

/**
 * Accepts the license parameters where not yet finalized and waits out each reboot, in parallel.
 * Throws Vns3ValidationError for bad parameters before any request; per-controller failures
 * (Vns3StepError) are in `failed`.
 */
export async function acceptLicenses(
  clients: readonly Vns3Client[],
  parameters: LicenseParametersInput = { default: true },
  options: LicenseControllersOptions = {},
): Promise<BulkResult<ControllerStepResult>> {
  checkClients(clients);
  const body = licenseParametersBody(parameters);
  checkTiming(options.reboot);
  return runBulk(
    clients,
    (c) => c.host,
    async (client, context) => {
      // Acceptance reads before it writes: after a transient failure it is simply run again.
      const accept = () => ensureLicenseAccepted(client, body, { ...options, signal: context.signal });
      const { reboot: _reboot, ...outcome } = await converge(client.host, 'license.accept', accept, { ...options, signal: context.signal });
      return { host: client.host, ...outcome };
    },
    { ...options, step: 'license.accept' },
  );
}
