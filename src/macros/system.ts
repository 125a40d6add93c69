/**
 * Credentials and the web UI across many controllers. The client is switched
 * to a new password only once the controller has it, and a change whose
 * reply was lost is decided by asking the controller, not by sending it again
 * blindly.
 */
import { Vns3ApiError, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { runBulk } from './core/bulk.js';
import { isTransientFailure, wrapStep } from './core/errors.js';
import type { BulkMacroOptions, BulkResult } from './core/types.js';
import { checkClients, checkSecret } from './core/validate.js';
import { waitForApi } from './core/wait-for-api.js';
import { checkTiming } from './core/poller.js';

/** How the credential and web UI macros run. */
export interface AdminOptions extends BulkMacroOptions {
  /** Limit of each request attempt; default the client's. */
  requestTimeoutMs?: number;
  /** After a web UI change the API answers 502 for a moment; this bounds the wait (default 60 000 ms). */
  settleTimeoutMs?: number;
}

/** What `rollApiPassword` did on one controller. */
export interface PasswordRollResult {
  host: string;
  /** A GET with the new password was answered. */
  verified: boolean;
}

/** What a web UI change left on one controller. */
export interface UiUpdateResult {
  host: string;
  enabled?: boolean;
  username?: string;
}

const call = (options: AdminOptions, signal?: AbortSignal) => ({ signal, timeoutMs: options.requestTimeoutMs });

/**
 * `PUT /api_password` on every controller, then the client switches to the new password and
 * proves it with a GET. `newPassword` may be one for all, or computed per controller (all computed
 * and checked before any request: Vns3ValidationError). Per-controller failures (Vns3StepError)
 * are in `failed`.
 */
export async function rollApiPassword(
  clients: readonly Vns3Client[],
  newPassword: string | ((client: Vns3Client, index: number) => string),
  options: AdminOptions = {},
): Promise<BulkResult<PasswordRollResult>> {
  checkClients(clients);
  checkTiming(options);
  const passwords = clients.map((client, i) =>
    checkSecret('newPassword', typeof newPassword === 'function' ? newPassword(client, i) : newPassword, client.host),
  );
  const step = 'admin.password';
  return runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => {
      const password = passwords[ctx.index]!;
      const host = client.host;
      try {
        emit(options.onEvent, { controller: host, step, detail: 'changing the API password' });
        try {
          await client.put('/api_password', { body: { password }, retry: false, ...call(options, ctx.signal) });
        } catch (e) {
          if (ctx.signal?.aborted || !isTransientFailure(e)) throw e;
          // No reply: the old password still working means the change did not happen.
          emit(options.onEvent, { controller: host, step, level: 'warn', detail: 'no reply to the change; checking which password works' });
          const oldStillWorks = await client.get('/config', call(options, ctx.signal)).then(
            () => true,
            (err: unknown) => {
              if (err instanceof Vns3ApiError && err.status === 401) return false;
              throw err;
            },
          );
          if (oldStillWorks) await client.put('/api_password', { body: { password }, ...call(options, ctx.signal) });
        }
        client.setPassword(password);
        await client.get('/config', call(options, ctx.signal));
        emit(options.onEvent, { controller: host, step, detail: 'API password changed and verified' });
        return { host, verified: true };
      } catch (e) {
        throw wrapStep(host, step, e, ctx.signal);
      }
    },
    { ...options, step },
  );
}

async function updateAdminUi(
  clients: readonly Vns3Client[],
  body: { enabled?: boolean; admin_username?: string; admin_password?: string },
  step: string,
  what: string,
  options: AdminOptions,
): Promise<BulkResult<UiUpdateResult>> {
  const settle = { healthyPolls: 1, timeoutMs: options.settleTimeoutMs ?? 60_000, intervalMs: 100, onEvent: options.onEvent };
  return runBulk(
    clients,
    (c) => c.host,
    async (client, ctx) => {
      const host = client.host;
      try {
        emit(options.onEvent, { controller: host, step, detail: what });
        // PUT is retried by the client on 502/503, which is what the web front answers while it restarts.
        const r = await client.put('/admin_ui', { body, ...call(options, ctx.signal) });
        // The API answers 502 for a moment afterwards: return a controller that answers.
        await waitForApi(client, { ...settle, signal: ctx.signal });
        emit(options.onEvent, { controller: host, step, detail: `done (UI ${r.enabled ? 'enabled' : 'disabled'})` });
        return { host, enabled: r.enabled, username: r.username };
      } catch (e) {
        throw wrapStep(host, step, e, ctx.signal);
      }
    },
    { ...options, step },
  );
}

/**
 * Sets the web UI's user name and password on every controller; `enabled` only if given. Throws
 * Vns3ValidationError for bad credentials before any request; per-controller failures are in `failed`.
 */
export async function rollUiCredentials(
  clients: readonly Vns3Client[],
  credentials: { username: string; password: string; enabled?: boolean },
  options: AdminOptions = {},
): Promise<BulkResult<UiUpdateResult>> {
  checkClients(clients);
  if (credentials === null || typeof credentials !== 'object') throw new Vns3ValidationError('credentials', credentials, 'must be { username, password }');
  const { username, password, enabled } = credentials;
  if (typeof username !== 'string' || username.trim().length === 0 || /[\s:]/.test(username)) {
    throw new Vns3ValidationError('credentials.username', username, 'must be a non-empty name without spaces or colons');
  }
  checkSecret('credentials.password', password);
  if (enabled !== undefined && typeof enabled !== 'boolean') throw new Vns3ValidationError('credentials.enabled', enabled, 'must be true or false');
  const body = { admin_username: username, admin_password: password, enabled };
  return updateAdminUi(clients, body, 'admin.ui.credentials', 'setting web UI credentials', options);
}

/** Turns the web UI off on every controller (`PUT /admin_ui {enabled: false}`); per-controller failures are in `failed`. */
export function disableUis(clients: readonly Vns3Client[], options: AdminOptions = {}): Promise<BulkResult<UiUpdateResult>> {
  checkClients(clients);
  checkTiming(options);
  return updateAdminUi(clients, { enabled: false }, 'admin.ui.disable', 'disabling the web UI', options);
}
