/**
 * Licensing: upload the license text, then accept its parameters (which
 * reboots the controller). Each step reads first and writes only if the
 * controller is not there yet, so that a rerun writes nothing.
 */
import { Vns3ApiError, Vns3Error } from '../client/errors.js';
import type { Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { runBulk, type BulkResult } from './bulk.js';
import { hasApiMessage, isTransientFailure, wrapStep } from './config-errors.js';
import { licenseParametersBody, resolveLicense, type LicenseInput, type LicenseParametersBody, type LicenseParametersInput } from './config-validate.js';
import { waitForApi, type WaitForApiOptions, type WaitForApiResult } from './config-wait.js';
import type { BulkMacroOptions, MacroOptions } from './options.js';

/** What one step of a macro did on one controller. */
export interface StepOutcome {
  step: string;
  /** False when the controller already was in the desired state (nothing written). */
  changed: boolean;
  detail?: string;
}

export interface ControllerStepResult extends StepOutcome {
  host: string;
}

export interface RequestOptions extends MacroOptions {
  /** Limit of each request attempt; default the client's. */
  requestTimeoutMs?: number;
  /** `false` makes each request one attempt (polls do this); default the client's policy. */
  retry?: boolean;
}

/** Reboot waits inherit these; `timeoutMs` bounds each wait. */
export type RebootWaitOptions = Omit<WaitForApiOptions, 'expectReboot' | 'signal' | 'onEvent'>;

export interface AcceptOptions extends RequestOptions {
  reboot?: RebootWaitOptions;
}

const ACCEPTED_MESSAGE = 'License already accepted.';

export function callOptions(o: RequestOptions): { signal?: AbortSignal; timeoutMs?: number; retry?: boolean } {
  return {
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.requestTimeoutMs !== undefined ? { timeoutMs: o.requestTimeoutMs } : {}),
    ...(o.retry !== undefined ? { retry: o.retry } : {}),
  };
}

/** `GET /license`: absent until uploaded (the controller answers an error, not an empty license). */
export async function readLicenseState(client: Vns3Client, o: RequestOptions = {}): Promise<{ present: boolean; finalized: boolean }> {
  try {
    const lic = await client.get('/license', callOptions(o));
    return { present: lic.license_present !== false, finalized: lic.finalized === true };
  } catch (e) {
    if (e instanceof Vns3ApiError && (e.status === 400 || e.status === 403 || e.status === 404)) return { present: false, finalized: false };
    throw e;
  }
}

/** Uploads the license unless the controller is licensed or already has one uploaded. */
export async function ensureLicenseUploaded(
  client: Vns3Client,
  licenseText: string,
  o: RequestOptions & { licensed?: boolean } = {},
): Promise<StepOutcome> {
  const step = 'license.upload';
  const host = client.host;
  try {
    const licensed = o.licensed ?? (await client.get('/config', callOptions(o))).licensed === true;
    if (licensed) return skip(o, host, step, 'already licensed');
    if ((await readLicenseState(client, o)).present) return skip(o, host, step, 'a license is already uploaded');
    emit(o.onEvent, { controller: host, step, detail: 'uploading license' });
    await client.put('/license', { body: licenseText, ...callOptions(o) });
    emit(o.onEvent, { controller: host, step, detail: 'license uploaded' });
    return { step, changed: true, detail: 'license uploaded' };
  } catch (e) {
    throw wrapStep(host, step, e, o.signal);
  }
}

/**
 * Accepts the license parameters unless already accepted, then rides out the
 * reboot this triggers. A reply lost on the way is not sent blindly again: we
 * wait for the API and re-read whether the license got finalized.
 */
export async function ensureLicenseAccepted(
  client: Vns3Client,
  body: LicenseParametersBody,
  o: AcceptOptions & { licensed?: boolean } = {},
): Promise<StepOutcome & { reboot?: WaitForApiResult }> {
  const step = 'license.accept';
  const host = client.host;
  const waitOpts = { ...o.reboot, ...(o.signal ? { signal: o.signal } : {}), ...(o.onEvent ? { onEvent: o.onEvent } : {}) };
  try {
    const licensed = o.licensed ?? (await client.get('/config', callOptions(o))).licensed === true;
    if (licensed) return skip(o, host, step, 'license already accepted');
    const state = await readLicenseState(client, o);
    if (!state.present) throw new Vns3Error(`no license is uploaded on ${host}; upload one before accepting it`, { controller: host });
    let expectReboot = true;
    if (!state.finalized) {
      emit(o.onEvent, { controller: host, step, detail: 'accepting license parameters; the controller reboots' });
      try {
        await client.put('/license/parameters', { body, ...callOptions(o) });
      } catch (e) {
        if (o.signal?.aborted) throw e;
        if (hasApiMessage(e, ACCEPTED_MESSAGE)) {
          expectReboot = false;
        } else if (isTransientFailure(e)) {
          emit(o.onEvent, { controller: host, step, level: 'warn', detail: 'no reply to the accept; re-reading the license after the API answers' });
          await waitForApi(client, { ...waitOpts, healthyPolls: 1 });
          if (!(await readLicenseState(client, o)).finalized) throw e;
          expectReboot = false;
        } else {
          throw e;
        }
      }
    } else {
      expectReboot = false;
    }
    const reboot = await waitForApi(client, { ...waitOpts, expectReboot });
    const config = await client.get('/config', callOptions(o));
    if (config.licensed !== true) throw new Vns3Error(`${host} answers again but is not licensed`, { controller: host });
    emit(o.onEvent, { controller: host, step, detail: 'license accepted; controller is back', data: { downMs: reboot.downMs, polls: reboot.polls } });
    return { step, changed: true, detail: 'license accepted', reboot };
  } catch (e) {
    throw wrapStep(host, step, e, o.signal);
  }
}

function skip(o: MacroOptions, host: string, step: string, detail: string): StepOutcome {
  emit(o.onEvent, { controller: host, step, level: 'debug', detail: `unchanged: ${detail}` });
  return { step, changed: false, detail };
}

/** Uploads the license to every controller that is not licensed and has none uploaded, in parallel. */
export async function licenseControllers(
  clients: readonly Vns3Client[],
  license: LicenseInput,
  opts: BulkMacroOptions & RequestOptions = {},
): Promise<BulkResult<ControllerStepResult>> {
  const text = await resolveLicense(license);
  return runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => ({ host: client.host, ...(await ensureLicenseUploaded(client, text, { ...opts, ...(ctx.signal ? { signal: ctx.signal } : {}) })) }),
    { ...opts, step: 'license.upload' },
  );
}

/** Accepts license parameters where not yet finalized and waits out each reboot, in parallel. */
export async function acceptLicenses(
  clients: readonly Vns3Client[],
  parameters: LicenseParametersInput = { default: true },
  opts: BulkMacroOptions & AcceptOptions = {},
): Promise<BulkResult<ControllerStepResult>> {
  const body = licenseParametersBody(parameters);
  return runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => {
      const { reboot: _reboot, ...outcome } = await ensureLicenseAccepted(client, body, { ...opts, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      return { host: client.host, ...outcome };
    },
    { ...opts, step: 'license.accept' },
  );
}
