/**
 * `setupController`: brings one (root) controller to the desired state: names, license upload,
 * license acceptance (with its reboot), keyset generation, peer id. It composes the license and
 * keyset steps, reading first and writing only what differs; rerun, it sends no write at all.
 */
import { Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { wrapStep } from './core/errors.js';
import { checkTiming } from './core/poller.js';
import { converge } from './core/reconcile.js';
import { callOptions, type MacroOptions, type StepOutcome } from './core/types.js';
import { checkBoolean, checkDuration, checkName, checkPeerId, checkToken } from './core/validate.js';
import type { RebootWaitOptions } from './core/wait-for-api.js';
import { ensureKeysetGenerated } from './keyset.js';
import { ensureLicenseAccepted, ensureLicenseUploaded, licenseParametersBody, resolveLicense, type LicenseInput, type LicenseParametersInput } from './license.js';

/** The desired state of the controller. */
export interface SetupControllerParams {
  topologyName?: string;
  controllerName?: string;
  license: LicenseInput;
  /** Default `{ default: true }`. */
  licenseParameters?: LicenseParametersInput;
  keysetToken: string;
  peerId?: number;
  /** Limit of each wait (reboot, keyset generation); default 300 000 ms. */
  waitTimeoutMs?: number;
  /** Change a peer id that is already set to another value (`force` on the controller). Default false. */
  forcePeerId?: boolean;
}

/** How `setupController` runs. */
export interface SetupControllerOptions extends MacroOptions {
  /** Limit of each request attempt; default the client's. */
  requestTimeoutMs?: number;
  /** First poll interval of the waits (default 250 ms). */
  intervalMs?: number;
  /** Fine-tuning of the wait after licensing (`healthyPolls`, `rebootStartTimeoutMs`, …). */
  reboot?: RebootWaitOptions;
}

/** What `setupController` did, step by step. */
export interface SetupControllerResult {
  host: string;
  steps: StepOutcome[];
}

/**
 * Idempotent setup of one controller: names, license upload, license acceptance (with its reboot),
 * keyset generation, peer id. Each step runs only if the controller is not already there. Throws
 * Vns3ValidationError for bad params before any request, Vns3StepError naming the failed step,
 * and the caller's abort reason.
 */
export async function setupController(
  client: Vns3Client,
  params: SetupControllerParams,
  options: SetupControllerOptions = {},
): Promise<SetupControllerResult> {
  if (params === null || typeof params !== 'object') throw new Vns3ValidationError('params', params, 'must be an object');
  const host = client.host;
  // Everything is checked before the first request.
  const topologyName = params.topologyName === undefined ? undefined : checkName('topologyName', params.topologyName);
  const controllerName = params.controllerName === undefined ? undefined : checkName('controllerName', params.controllerName);
  const token = checkToken('keysetToken', params.keysetToken, host);
  const peerId = params.peerId === undefined ? undefined : checkPeerId('peerId', params.peerId, host);
  const waitTimeoutMs = params.waitTimeoutMs === undefined ? undefined : checkDuration('waitTimeoutMs', params.waitTimeoutMs, { controller: host });
  checkBoolean('forcePeerId', params.forcePeerId, host);
  checkTiming(options);
  checkTiming(options.reboot);
  const parameters = licenseParametersBody(params.licenseParameters ?? { default: true });
  const licenseText = await resolveLicense(params.license);
  const input: SetupInput = { topologyName, controllerName, token, peerId, waitTimeoutMs, parameters, licenseText, forcePeerId: params.forcePeerId === true };
  // Every step reads before it writes, so after a transient failure the whole setup simply runs again.
  return converge(host, 'setup', () => runSetup(client, input, options), options);
}

interface SetupInput {
  topologyName?: string;
  controllerName?: string;
  token: string;
  peerId?: number;
  waitTimeoutMs?: number;
  parameters: ReturnType<typeof licenseParametersBody>;
  licenseText: string;
  forcePeerId: boolean;
}

async function runSetup(client: Vns3Client, input: SetupInput, options: SetupControllerOptions): Promise<SetupControllerResult> {
  const { topologyName, controllerName, token, peerId, waitTimeoutMs, parameters, licenseText } = input;
  const host = client.host;
  const { signal, onEvent } = options;
  const req = { ...options };
  const steps: StepOutcome[] = [];
  const record = (s: StepOutcome): void => {
    steps.push({ step: s.step, changed: s.changed, detail: s.detail });
  };
  const waitBase = { timeoutMs: waitTimeoutMs, intervalMs: options.intervalMs };

  let step = 'config.read';
  try {
    emit(onEvent, { controller: host, step, level: 'debug', detail: 'reading configuration' });
    const config = await client.get('/config', callOptions(req));

    step = 'config.names';
    const update: { topology_name?: string; controller_name?: string } = {};
    if (topologyName !== undefined && config.topology_name !== topologyName) update.topology_name = topologyName;
    if (controllerName !== undefined && config.controller_name !== controllerName) update.controller_name = controllerName;
    if (Object.keys(update).length > 0) {
      emit(onEvent, { controller: host, step, detail: `setting ${Object.keys(update).join(', ')}` });
      await client.put('/config', { body: update, ...callOptions(req) });
      record({ step, changed: true, detail: `set ${Object.keys(update).join(', ')}` });
    } else {
      record({ step, changed: false, detail: 'names as desired' });
    }

    const licensed = config.licensed === true;
    record(await ensureLicenseUploaded(client, licenseText, { ...req, licensed }));
    const accepted = await ensureLicenseAccepted(client, parameters, {
      ...req,
      licensed,
      reboot: { ...options.reboot, timeoutMs: options.reboot?.timeoutMs ?? waitTimeoutMs, intervalMs: options.reboot?.intervalMs ?? options.intervalMs },
    });
    record(accepted);

    record(await ensureKeysetGenerated(client, token, { ...req, wait: waitBase }));

    if (peerId !== undefined) {
      step = 'peering.self';
      const peering = await client.get('/peering', callOptions(req));
      if (peering.id === peerId) {
        record({ step, changed: false, detail: `peer id is ${peerId}` });
      } else {
        emit(onEvent, { controller: host, step, detail: `setting peer id ${peerId}` });
        const force = input.forcePeerId && typeof peering.id === 'number';
        await client.put('/peering/self', { body: { id: peerId, force: force || undefined }, ...callOptions(req) });
        record({ step, changed: true, detail: `peer id set to ${peerId}` });
      }
    }
  } catch (e) {
    throw wrapStep(host, step, e, signal);
  }
  emit(onEvent, { controller: host, step: 'setup', detail: `done (${steps.filter((s) => s.changed).length} steps changed)`, data: { steps: steps.map((s) => ({ ...s })) } });
  return { host, steps };
}

