import { createHash, randomUUID } from 'node:crypto';
import type { SimController } from '../controller.js';
import { MESSAGES, SimApiError, badRequest } from '../errors.js';
import { type OperationTable, isoOf, nowS } from './types.js';

/**
 * Keyset generation and fetch run in the background. Instead of timers, the outcome of an attempt
 * is decided the first time anyone looks after it was due: every request to the controller (and
 * every peer that needs its keyset) settles it first.
 */
export function settleKeyset(ctl: SimController): void {
  const attempt = ctl.keyset.attempt;
  if (!attempt || Date.now() < attempt.completesAt || !ctl.isUp()) return;
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
  const source = attempt.source !== undefined ? ctl.world.controllerAt(attempt.source, ctl) : undefined;
  if (source) settleKeyset(source);
  const ok = source !== undefined && source.licensed && source.keyset.present && source.keyset.token === attempt.token;
  if (!source || !ok) {
    // A failed fetch is quiet: the state is reset and only a new attempt's started_at_i tells.
    ctl.keyset = { present: false, lastStartedAtS: ctl.keyset.lastStartedAtS };
    return;
  }
  ctl.license = { ...source.license };
  ctl.config.topologyName = source.config.topologyName;
  ctl.keyset = {
    present: true,
    token: attempt.token,
    checksum: source.keyset.checksum,
    uuid: source.keyset.uuid,
    createdAtS: nowS(),
    source: attempt.source,
    lastStartedAtS: ctl.keyset.lastStartedAtS,
  };
  if (ctl.world.timings.rebootAfterFetch) ctl.rebootAfterReply = true;
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
  ctl.keyset = { present: false, lastStartedAtS: startedAtS, attempt: { kind, token, source, startedAtS, completesAt: Date.now() + duration } };
}

export const keysetOperations: OperationTable = {
  'GET /keyset': ({ ctl }) => {
    settleKeyset(ctl);
    // Fetching peers are unlicensed while they download; they may look at their own progress.
    if (!ctl.licensed && ctl.keyset.attempt === undefined && !ctl.keyset.lastStartedAtS) {
      // 403, as the spec declares for a prerequisite not met (GET /keyset has no 400 reply).
      throw new SimApiError(403, MESSAGES.keysetMustBeLicensed, 'PrerequisiteError');
    }
    return keysetView(ctl);
  },

  'PUT /keyset': ({ ctl, body }) => {
    settleKeyset(ctl);
    const { token, source } = body as { token: string; source?: string };
    if (ctl.keyset.attempt) throw badRequest(MESSAGES.keysetInProgress);
    if (ctl.keyset.present) throw badRequest(MESSAGES.keysetExists);
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
