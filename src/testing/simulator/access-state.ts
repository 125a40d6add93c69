import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * The Access area of one simulated controller: API tokens, access URLs and identity settings.
 * Token secrets live in a private map and are handed out once, in the reply that creates the token;
 * every later read shows them masked, and an inspected or serialised state shows none of them.
 */

/** What the controller answers in the `api-token` header's 401 (the reference's example). */
export const TOKEN_REFUSED = 'Invalid or expired token';
/** How a controller shows a stored secret on read (the reference's `GET /identity/vpn` example). */
export const MASK = '********************';

export const TOKEN_EXPIRES = { min: 60, max: 31_536_000, message: 'expires range must be between 60 and 31,536,000' } as const;
export const URL_EXPIRES = { min: 60, max: 259_200, message: 'expires range must be between 60 and 259200' } as const;

interface Credential {
  id: number;
  name: string;
  createdAtMs: number;
  createdIp: string;
  lifetimeS: number;
  expiresAtMs: number;
  /** Set by `PUT … {expired: true}`: expired for good, whatever `expiresAtMs` says. */
  expiredByRequest: boolean;
  lastAccessedAtMs?: number;
  lastAccessedIp?: string;
}

interface TokenEntry extends Credential {
  refreshes: boolean;
}

interface UrlEntry extends Credential {
  url: string;
  access: string;
}

/** Identity settings as stored: whatever the client sent, secrets included (never shown back). */
export type IdentitySettings = Record<string, unknown> & { provider: string; enabled: boolean };

const SECRET_FIELDS = ['bindpw', 'secret', 'pass', 'encrypt_auth_key_data'];

// To the millisecond: the token macros tell which token a request used by its `last_accessed_at`.
const iso = (ms: number): string => new Date(ms).toISOString();

function credentialView(c: Credential, now: number): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    created_at: iso(c.createdAtMs),
    created_ip: c.createdIp,
    expires_at: iso(c.expiresAtMs),
    lifetime: String(c.lifetimeS),
    expired: c.expiredByRequest || now >= c.expiresAtMs,
    last_accessed_at: c.lastAccessedAtMs === undefined ? null : iso(c.lastAccessedAtMs),
    last_accessed_ip: c.lastAccessedIp ?? null,
  };
}

/** Tokens, access URLs and identity settings of one controller. */
export class AccessState {
  readonly #tokens = new Map<number, TokenEntry>();
  /** Secret → token id; kept apart so that nothing that lists tokens can reach a secret. */
  readonly #secrets = new Map<string, number>();
  readonly #urls = new Map<number, UrlEntry>();
  #nextTokenId = 1;
  #nextUrlId = 1;
  #vpn: IdentitySettings = { provider: 'ldap', enabled: false };
  #controller: IdentitySettings = { provider: 'ldap', enabled: false };

  /** Creates a token; the one reply that carries its secret whole. */
  createToken(input: { name: string; expiresS: number; refreshes: boolean; ip: string }, now: number): Record<string, unknown> {
    const id = this.#nextTokenId++;
    const secret = randomBytes(24).toString('hex');
    const entry: TokenEntry = {
      id,
      name: input.name,
      createdAtMs: now,
      createdIp: input.ip,
      lifetimeS: input.expiresS,
      expiresAtMs: now + input.expiresS * 1000,
      expiredByRequest: false,
      refreshes: input.refreshes,
    };
    this.#tokens.set(id, entry);
    this.#secrets.set(secret, id);
    return { ...this.tokenView(entry, now), token: secret };
  }

  /**
   * True when `secret` is a live token: records the access, and pushes the expiry of a refreshing
   * token. An expired or deleted token is refused (401 `Invalid or expired token`).
   */
  authenticate(secret: string, ip: string, now: number): boolean {
    const id = this.#secrets.get(secret);
    const entry = id === undefined ? undefined : this.#tokens.get(id);
    if (!entry || entry.expiredByRequest || now >= entry.expiresAtMs) return false;
    entry.lastAccessedAtMs = now;
    entry.lastAccessedIp = ip;
    if (entry.refreshes) entry.expiresAtMs = now + entry.lifetimeS * 1000;
    return true;
  }

  tokens(now: number): Record<string, unknown>[] {
    return [...this.#tokens.values()].map((t) => this.tokenView(t, now));
  }

  token(id: number, now: number): Record<string, unknown> | undefined {
    const t = this.#tokens.get(id);
    return t && this.tokenView(t, now);
  }

  /** `{expired: true}` expires the token for good; `false` changes nothing (ours). */
  expireToken(id: number, expired: boolean, now: number): Record<string, unknown> | undefined {
    const t = this.#tokens.get(id);
    if (t && expired) t.expiredByRequest = true;
    return t && this.tokenView(t, now);
  }

  /** Deletes the token and its secret; false when there was none. */
  deleteToken(id: number): boolean {
    if (!this.#tokens.delete(id)) return false;
    for (const [secret, owner] of this.#secrets) if (owner === id) this.#secrets.delete(secret);
    return true;
  }

  createUrl(input: { name: string; expiresS: number; access: string; ip: string; publicIp: string }, now: number): Record<string, unknown> {
    const id = this.#nextUrlId++;
    const entry: UrlEntry = {
      id,
      name: input.name,
      createdAtMs: now,
      createdIp: input.ip,
      lifetimeS: input.expiresS,
      expiresAtMs: now + input.expiresS * 1000,
      expiredByRequest: false,
      url: `https://${input.publicIp}:8000/access/${randomBytes(16).toString('hex')}`,
      access: input.access,
    };
    this.#urls.set(id, entry);
    return this.urlView(entry, now);
  }

  urls(now: number): Record<string, unknown>[] {
    return [...this.#urls.values()].map((u) => this.urlView(u, now));
  }

  url(id: number, now: number): Record<string, unknown> | undefined {
    const u = this.#urls.get(id);
    return u && this.urlView(u, now);
  }

  expireUrl(id: number, expired: boolean, now: number): Record<string, unknown> | undefined {
    const u = this.#urls.get(id);
    if (u && expired) u.expiredByRequest = true;
    return u && this.urlView(u, now);
  }

  /** Deletes by id or by the URL's text; false when none matches. */
  deleteUrl(match: { id?: number; url?: string }): boolean {
    for (const u of this.#urls.values()) {
      if (u.id === match.id || (match.url !== undefined && u.url === match.url)) return this.#urls.delete(u.id);
    }
    return false;
  }

  /** The stored identity settings, secrets masked. */
  identity(kind: 'vpn' | 'controller'): IdentitySettings {
    return masked(kind === 'vpn' ? this.#vpn : this.#controller);
  }

  /** The stored settings with secrets, for a connection test against them. */
  identityWithSecrets(kind: 'vpn' | 'controller'): IdentitySettings {
    return { ...(kind === 'vpn' ? this.#vpn : this.#controller) };
  }

  /**
   * Replaces the settings. A secret sent back masked (a client that read, edited and wrote the
   * settings) keeps the stored one rather than becoming the asterisks.
   */
  setIdentity(kind: 'vpn' | 'controller', settings: IdentitySettings): IdentitySettings {
    const old = kind === 'vpn' ? this.#vpn : this.#controller;
    const next: IdentitySettings = { ...settings };
    for (const field of SECRET_FIELDS) {
      if (next[field] === MASK && old.provider === next.provider) next[field] = old[field];
    }
    if (kind === 'vpn') this.#vpn = next;
    else this.#controller = next;
    return masked(next);
  }

  private tokenView(t: TokenEntry, now: number): Record<string, unknown> {
    return { ...credentialView(t, now), token: MASK, refreshes: t.refreshes };
  }

  private urlView(u: UrlEntry, now: number): Record<string, unknown> {
    return { ...credentialView(u, now), url: u.url, access: u.access };
  }

  /** Counts only: never a secret. */
  [inspect.custom](): string {
    return `AccessState { tokens: ${this.#tokens.size}, urls: ${this.#urls.size} }`;
  }

  toJSON(): Record<string, unknown> {
    return { tokens: this.#tokens.size, urls: this.#urls.size };
  }
}

function masked(settings: IdentitySettings): IdentitySettings {
  const out: IdentitySettings = { ...settings };
  for (const field of SECRET_FIELDS) if (typeof out[field] === 'string' && out[field] !== '') out[field] = MASK;
  return out;
}
