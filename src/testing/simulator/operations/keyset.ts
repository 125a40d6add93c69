import { createHash, randomUUID } from 'node:crypto';
import type { KeysetAttempt, SimController } from '../controller.js';
import { MESSAGES, SimApiError, badRequest } from '../errors.js';
import { type OperationTable, isoOf, nowS } from './types.js';

/** How often an attempt that ends while its controller is down looks again (it ends once it is up). */
const DOWN_RETRY_MS = 50;

/**
 * Keyset generation and fetch run in the background and end on their own clock (a timer), whether
 * or not anyone asks: a client polling with duplicate `PUT /keyset` must meet the orderings of
 * VNS3_BEHAVIOUR.md ("What clients written by others rely on"), which a lazily settled attempt broke.
 */
function scheduleEnd(ctl: SimController, attempt: KeysetAttempt): void {
  ctl.world.later(Math.max(0, attempt.completesAt - Date.now()), () => endAttempt(ctl, attempt));
}

function endAttempt(ctl: SimController, attempt: KeysetAttempt): void {
  if (ctl.keyset.attempt !== attempt) return; // replaced or reset meanwhile
  if (!ctl.isUp()) {
    ctl.world.later(DOWN_RETRY_MS, () => endAttempt(ctl, attempt));
    return;
  }
  ctl.keyset.attempt = undefined;
  if (attempt.kind === 'generate') {
    ctl.keyset = {
      ...ctl.keyset,
      present: true,
      token: attempt.token,
      checksum: createHash('md5').update(`${ctl.license.terms?.topology}:${attempt.token}:${randomUUID()}`).digest('hex'),
      uuid: randomUUID(),
      createdAtS: nowS(),
    };
    return;
  }
  endFetch(ctl, attempt);
}

/**
 * A fetch ends with the source's keyset, or quietly without (state reset; only a new attempt's
 * larger `started_at_i` tells). With a keyset, the timings choose the ordering clients see:
 * `rebootAfterFetch: false` applies the license at once (no reboot); `fetchRebootDelayMs: 0` reboots
 * at the moment the fetch ends (the license applies on the way up); a delay leaves the keyset
 * present but the license unapplied (`GET /keyset` answers `must be licensed`) until the reboot.
 */
function endFetch(ctl: SimController, attempt: KeysetAttempt): void {
  const source = attempt.source !== undefined ? ctl.world.controllerAt(attempt.source, ctl) : undefined;
  const ok = source !== undefined && source.licensed && source.keyset.present && source.keyset.token === attempt.token;
  if (!source || !ok) {
    ctl.keyset = { present: false, lastStartedAtS: ctl.keyset.lastStartedAtS };
    return;
  }
  ctl.keyset = {
    present: true,
    token: attempt.token,
    checksum: source.keyset.checksum,
    uuid: source.keyset.uuid,
    createdAtS: nowS(),
    source: attempt.source,
    lastStartedAtS: ctl.keyset.lastStartedAtS,
  };
  ctl.pendingLicense = { license: { ...source.license }, topologyName: source.config.topologyName };
  const { rebootAfterFetch, fetchRebootDelayMs } = ctl.world.timings;
  if (!rebootAfterFetch) {
    ctl.applyPendingLicense();
    return;
  }
  if (fetchRebootDelayMs <= 0) {
    void ctl.reboot();
    return;
  }
  const pending = { fired: false, held: false };
  ctl.fetchReboot = pending;
  ctl.world.later(fetchRebootDelayMs, () => {
    if (ctl.fetchReboot !== pending) return;
    pending.fired = true;
    // Never between a `Keyset already exists.` reply and the client's next request: the server
    // reboots after the next other reply; this timer only covers a client that never asks again.
    if (!pending.held) return void ctl.rebootForFetch();
    ctl.world.later(fetchRebootDelayMs, () => {
      if (ctl.fetchReboot === pending) void ctl.rebootForFetch();
    });
  });
}

export function keysetView(ctl: SimController): Record<string, unknown> {
  const k = ctl.keyset;
  const view: Record<string, unknown> = {
    keyset_present: k.present,
    in_progress: k.attempt !== undefined,
    running: k.attempt !== undefined ? 1 : 0,
  };
  const startedAtS = k.attempt?.startedAtS ?? (k.lastStartedAtS || undefined);
  if (startedAtS !== undefined) {
    view.started_at = isoOf(startedAtS);
    view.started_at_i = startedAtS;
  }
  if (k.present) {
    view.checksum = k.checksum;
    view.uuid = k.uuid;
    view.created_at = isoOf(k.createdAtS ?? 0);
    view.created_at_i = k.createdAtS;
  }
  return view;
}

function startAttempt(ctl: SimController, kind: 'generate' | 'fetch', token: string, source?: string): void {
  const startedAtS = Math.max(nowS(), ctl.keyset.lastStartedAtS + 1);
  const duration = kind === 'generate' ? ctl.world.timings.keysetGenerationMs : ctl.world.timings.keysetFetchMs;
  const attempt: KeysetAttempt = { kind, token, source, startedAtS, completesAt: Date.now() + duration };
  ctl.keyset = { present: false, lastStartedAtS: startedAtS, attempt };
  scheduleEnd(ctl, attempt);
}

export const keysetOperations: OperationTable = {
  'GET /keyset': ({ ctl }) => {
    // Fetching peers are unlicensed while they download; they may look at their own progress. A
    // fetched keyset whose license applies only at the coming reboot is not shown.
    const pendingReboot = !ctl.licensed && ctl.keyset.present;
    if (pendingReboot || (!ctl.licensed && ctl.keyset.attempt === undefined && !ctl.keyset.lastStartedAtS)) {
      // 403, as the spec declares for a prerequisite not met (GET /keyset has no 400 reply).
      throw new SimApiError(403, MESSAGES.keysetMustBeLicensed, 'PrerequisiteError');
    }
    return keysetView(ctl);
  },

  'PUT /keyset': ({ ctl, body }) => {
    const { token, source } = body as { token: string; source?: string };
    if (ctl.keyset.attempt) throw badRequest(MESSAGES.keysetInProgress);
    if (ctl.keyset.present) {
      if (ctl.fetchReboot) ctl.fetchReboot.held = true;
      throw badRequest(MESSAGES.keysetExists);
    }
    if (!token) throw badRequest('Keyset token cannot be blank.');
    if (source !== undefined && source !== '') {
      if (ctl.licensed) throw badRequest('Controller is already licensed: generate its keyset instead of fetching one.');
      startAttempt(ctl, 'fetch', token, source);
    } else {
      if (!ctl.licensed) throw badRequest(MESSAGES.mustBeLicensed);
      startAttempt(ctl, 'generate', token);
    }
    return keysetView(ctl);
  },
};
