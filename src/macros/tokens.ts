/**
 * API tokens across many controllers: `ensureApiToken` keeps one named token per controller and
 * hands back clients that authenticate with it; `rollApiTokens` replaces it. A new token is proven
 * (a request made with it) before the old ones are revoked, so a failure half-way never leaves a
 * controller without a working credential. Secrets live only in the returned grants, which do not
 * show them when printed, serialised or inspected.
 *
 * The macros take controller specs (as `connectControllers` does), not clients: a client does not
 * give away its TLS settings, and the token clients must trust the controller exactly as the
 * admin client does.
 */
import { inspect } from 'node:util';
import { Vns3ApiError, Vns3ValidationError, parseControllerAddress, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { runBulk } from './core/bulk.js';
import { connectControllers, type ConnectControllersOptions, type ControllerSpec } from './core/connect.js';
import { wrapStep } from './core/errors.js';
import { Attempts, reconcileLoop } from './core/reconcile.js';
import type { BulkMacroOptions, BulkResult } from './core/types.js';
import { checkBoolean, checkName, checkSecret } from './core/validate.js';

/** The token every controller should have. */
export interface ApiTokenSpec {
  /** The token's name on the controller: how the macro finds it again (and its predecessors). */
  name: string;
  /** Lifetime in seconds, 60 to 31 536 000 (the controller's range); default 3600. */
  expiresS?: number;
  /** Each use restarts the lifetime (default false). */
  refreshes?: boolean;
  /**
   * Secrets of the tokens you already hold, by controller host (`host:port` as `parseControllerAddress`
   * gives it). `ensureApiToken` reuses a live token with the name only when its secret is here:
   * a controller never shows a token's secret again after creating it.
   */
  secrets?: Readonly<Record<string, string>>;
  /** A reused token with less than this many seconds left is replaced (default 300, at most half of `expiresS`). */
  minRemainingS?: number;
}

/** How the token macros connect and run. */
export interface ApiTokenOptions extends BulkMacroOptions {
  /** Client options shared by every controller (credentials of the admin client, TLS, timeouts), as `connectControllers` takes them. */
  clientOptions?: ConnectControllersOptions;
  /** Limit of each request attempt; default the client's. */
  requestTimeoutMs?: number;
}

/**
 * One controller's token and a client that uses it. `secret` is readable for you to store (a
 * vault, a CI secret); printing, `JSON.stringify` or `util.inspect` of the grant never shows it.
 * Close `client` when done.
 */
export class ApiTokenGrant {
  readonly #secret: string;
  constructor(
    readonly host: string,
    readonly id: number,
    readonly name: string,
    readonly expiresAt: string,
    /** True when an existing token was kept (no write). */
    readonly reused: boolean,
    /** Ids of the tokens with the same name that were deleted. */
    readonly revoked: readonly number[],
    /** Authenticates with the token in the `api-token` header. */
    readonly client: Vns3Client,
    secret: string,
  ) {
    this.#secret = secret;
  }

  /** The token's secret: store it, pass it back as `secrets[host]` to reuse the token next time. */
  get secret(): string {
    return this.#secret;
  }

  toJSON(): Record<string, unknown> {
    return { host: this.host, id: this.id, name: this.name, expiresAt: this.expiresAt, reused: this.reused, revoked: this.revoked };
  }

  [inspect.custom](): string {
    return `ApiTokenGrant ${inspect(this.toJSON())}`;
  }
}

type TokenView = { id: number; name: string; expired: boolean; expires_at: string; last_accessed_at?: string | null; last_accessed_ip?: string | null };

const TOKEN_RANGE = { min: 60, max: 31_536_000 };

interface Plan {
  spec: ControllerSpec;
  host: string;
  name: string;
  expiresS: number;
  refreshes: boolean;
  minRemainingS: number;
  secret?: string;
}

function specHost(spec: ControllerSpec): string {
  return parseControllerAddress(typeof spec === 'string' ? spec : spec.host).host;
}

/** Every check before the first request; throws Vns3ValidationError naming the field. */
function plan(specs: readonly ControllerSpec[], token: ApiTokenSpec, reuse: boolean): Plan[] {
  if (token === null || typeof token !== 'object') throw new Vns3ValidationError('token', token, 'must be { name, expiresS?, refreshes?, secrets? }');
  const name = checkName('token.name', token.name);
  const expiresS = token.expiresS ?? 3600;
  if (!Number.isInteger(expiresS) || expiresS < TOKEN_RANGE.min || expiresS > TOKEN_RANGE.max) {
    throw new Vns3ValidationError('token.expiresS', token.expiresS, 'must be a whole number of seconds from 60 to 31536000');
  }
  const refreshes = checkBoolean('token.refreshes', token.refreshes) ?? false;
  const minRemainingS = token.minRemainingS ?? Math.min(300, Math.floor(expiresS / 2));
  if (!Number.isInteger(minRemainingS) || minRemainingS < 0 || minRemainingS > expiresS) {
    throw new Vns3ValidationError('token.minRemainingS', token.minRemainingS, 'must be a whole number of seconds from 0 to expiresS');
  }
  const secrets = token.secrets ?? {};
  if (secrets === null || typeof secrets !== 'object') throw new Vns3ValidationError('token.secrets', secrets, 'must map controller hosts to token secrets', { secret: true });
  const hosts = specs.map(specHost);
  for (const [host, secret] of Object.entries(secrets)) {
    if (!hosts.includes(host)) throw new Vns3ValidationError(`token.secrets[${host}]`, secret, `is not one of the controllers (${hosts.join(', ')})`, { secret: true });
    checkSecret(`token.secrets[${host}]`, secret, host);
  }
  return specs.map((spec, i) => ({ spec, host: hosts[i]!, name, expiresS, refreshes, minRemainingS, secret: reuse ? secrets[hosts[i]!] : undefined }));
}

/** A client of the same controller with the same TLS trust, authenticating with `secret` only. */
function tokenClient(spec: ControllerSpec, common: ConnectControllersOptions, secret: string): Vns3Client {
  const own = typeof spec === 'string' ? { host: spec } : { ...spec, password: undefined };
  const [client] = connectControllers([{ ...own, apiToken: secret }], { ...common, password: undefined, apiToken: undefined });
  return client!;
}

const secondsLeft = (t: TokenView): number => (Date.parse(t.expires_at) - Date.now()) / 1000;

/** Runs one controller: reuse the token whose secret we hold, or create one; then revoke the others of the name. */
async function ensureOne(admin: Vns3Client, p: Plan, common: ConnectControllersOptions, options: ApiTokenOptions, step: string, signal?: AbortSignal): Promise<ApiTokenGrant> {
  const call = { signal, timeoutMs: options.requestTimeoutMs };
  const attempts = new Attempts(options.retryBudget, signal);
  // Ids present before any write of ours: a named token outside them that is not `keep` was created
  // by an attempt whose reply was lost, and nobody holds its secret.
  let knownIds: Set<number> | undefined;
  let keep: Kept | undefined;
  try {
    return await reconcileLoop(p.host, step, async ({ progress }) => {
      const before = (await admin.get('/access/tokens', call)) as TokenView[];
      knownIds ??= new Set(before.map((t) => t.id));
      const named = before.filter((t) => t.name === p.name);
      if (!keep && p.secret !== undefined) {
        keep = await reusable(named, before, p, common, call);
        if (keep) emit(options.onEvent, { controller: p.host, step, detail: `token ${keep.id} '${p.name}' is live (expires ${keep.expiresAt}); kept` });
      }
      if (!keep) {
        for (const orphan of named.filter((t) => !knownIds!.has(t.id))) await revoke(admin, orphan.id, call);
        keep = await create(admin, p, common, call);
        progress();
        emit(options.onEvent, { controller: p.host, step, detail: `created token ${keep.id} '${p.name}' (expires ${keep.expiresAt})`, data: { id: keep.id } });
      }
      const kept = keep;
      // Proven before the old ones go: a request authenticated with the token itself.
      await kept.client.get('/access/token/{token_id}', { params: { path: { token_id: kept.id } }, ...call });
      const revoked: number[] = [];
      for (const old of named.filter((t) => t.id !== kept.id && !t.expired)) {
        await revoke(admin, old.id, call);
        revoked.push(old.id);
        progress();
      }
      if (revoked.length > 0) emit(options.onEvent, { controller: p.host, step, detail: `revoked ${revoked.length} older token(s) '${p.name}'`, data: { revoked } });
      return new ApiTokenGrant(p.host, kept.id, p.name, kept.expiresAt, kept.reused, revoked, kept.client, kept.secret);
    }, { attempts, signal, onEvent: options.onEvent });
  } catch (e) {
    await keep?.client.close();
    throw e;
  } finally {
    attempts.dispose();
  }
}

type Kept = { id: number; secret: string; expiresAt: string; client: Vns3Client; reused: boolean };

/**
 * The live token with the name whose secret the caller gave, if it still has `minRemainingS`. The
 * secret must authenticate, and the request made with it must not have touched another token
 * (`last_accessed_*` changes on the token used), so a secret of another token is not taken for it.
 * A controller that records the last access only to the second cannot tell two tokens used within
 * the same second apart; then a live token with the name is kept on the secret's word.
 */
async function reusable(named: TokenView[], before: TokenView[], p: Plan, common: ConnectControllersOptions, call: { signal?: AbortSignal; timeoutMs?: number }): Promise<Kept | undefined> {
  const live = named.filter((t) => !t.expired && secondsLeft(t) >= p.minRemainingS);
  if (live.length === 0) return undefined;
  const client = tokenClient(p.spec, common, p.secret!);
  try {
    const after = (await client.get('/access/tokens', call)) as TokenView[];
    const touched = after.filter((t) => {
      const old = before.find((b) => b.id === t.id);
      return old !== undefined && (old.last_accessed_at !== t.last_accessed_at || old.last_accessed_ip !== t.last_accessed_ip);
    });
    const candidates = touched.length > 0 ? live.filter((t) => touched.some((u) => u.id === t.id)) : live;
    if (candidates.length === 1 && (touched.length === 0 || touched.length === 1)) {
      const t = after.find((a) => a.id === candidates[0]!.id) ?? candidates[0]!;
      return { id: t.id, secret: p.secret!, expiresAt: t.expires_at, client, reused: true };
    }
  } catch (e) {
    if (!(e instanceof Vns3ApiError && e.status === 401)) {
      await client.close();
      throw e;
    }
  }
  await client.close();
  return undefined;
}

async function create(admin: Vns3Client, p: Plan, common: ConnectControllersOptions, call: { signal?: AbortSignal; timeoutMs?: number }): Promise<Kept> {
  // Never re-sent blindly: a lost reply leaves a token we cannot use, found and revoked by the next read.
  const made = await admin.post('/access/token', { body: { name: p.name, expires: p.expiresS, refreshes: p.refreshes }, retry: false, ...call });
  if (typeof made.token !== 'string' || made.token.length === 0) throw new Vns3ValidationError('token', undefined, 'the controller answered a token without its secret', { controller: p.host });
  return { id: made.id, secret: made.token, expiresAt: made.expires_at, client: tokenClient(p.spec, common, made.token), reused: false };
}

async function revoke(admin: Vns3Client, id: number, call: { signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
  try {
    await admin.delete('/access/token/{token_id}', { params: { path: { token_id: id } }, ...call });
  } catch (e) {
    // Gone already (an earlier attempt whose reply was lost): that is what we wanted.
    if (!(e instanceof Vns3ApiError && e.status === 404)) throw e;
  }
}

async function runTokens(specs: readonly ControllerSpec[], token: ApiTokenSpec, options: ApiTokenOptions, reuse: boolean, step: string): Promise<BulkResult<ApiTokenGrant>> {
  if (options === null || typeof options !== 'object') throw new Vns3ValidationError('options', options, 'must be an options object');
  const common = options.clientOptions ?? {};
  const admins = connectControllers(specs, common);
  try {
    // After connectControllers, whose checks name a bad spec first; no request has been made yet.
    const plans = plan(specs, token, reuse);
    return await runBulk(
      plans,
      (p) => p.host,
      async (p, ctx) => {
        try {
          return await ensureOne(admins[ctx.index]!, p, common, options, step, ctx.signal);
        } catch (e) {
          throw wrapStep(p.host, step, e, ctx.signal);
        }
      },
      { ...options, step },
    );
  } finally {
    await Promise.all(admins.map((c) => c.close()));
  }
}

/**
 * Makes sure every controller has a live API token named `token.name` and returns, per
 * controller, an {@link ApiTokenGrant} whose client uses it. A token is reused (no write) only when
 * its secret is in `token.secrets` and it has `minRemainingS` left; otherwise a new one is created,
 * proven by a request made with it, and the older live tokens of the same name are revoked. Throws
 * Vns3ValidationError for bad specs or token settings before any request; per-controller failures
 * (Vns3StepError) are in `failed`.
 */
export function ensureApiToken(specs: readonly ControllerSpec[], token: ApiTokenSpec, options: ApiTokenOptions = {}): Promise<BulkResult<ApiTokenGrant>> {
  return runTokens(specs, token, options, true, 'tokens.ensure');
}

/**
 * Replaces the token named `token.name` on every controller: creates a new one, proves it, then
 * revokes every older live token of that name. Returns the grants (clients using the new tokens).
 * Throws Vns3ValidationError before any request; per-controller failures are in `failed`, and a
 * controller that failed keeps its old token (revocation comes last).
 */
export function rollApiTokens(specs: readonly ControllerSpec[], token: Omit<ApiTokenSpec, 'secrets' | 'minRemainingS'>, options: ApiTokenOptions = {}): Promise<BulkResult<ApiTokenGrant>> {
  return runTokens(specs, { ...token, secrets: undefined }, options, false, 'tokens.roll');
}
