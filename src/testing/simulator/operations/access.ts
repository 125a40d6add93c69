import { type IdentitySettings, TOKEN_EXPIRES, URL_EXPIRES } from '../access-state.js';
import { SimApiError } from '../errors.js';
import { type OperationTable, created } from './types.js';

/**
 * The Access area: API tokens (they authenticate in the `api-token` header, see server.ts), access
 * URLs (stored and listed; no web UI opens behind them) and identity settings (stored; the LDAP
 * test tries a connection, and no LDAP server exists inside the simulation).
 */

const notFound = (message: string): SimApiError => new SimApiError(404, message, 'APINotFoundError');
const TOKEN_MISSING = 'Requested api token does not exist';
const URL_MISSING = 'Invalid or missing access url';

/** The controller checks the range itself, with a message clients compare (not a schema bound). */
function expiresOf(raw: unknown, range: { min: number; max: number; message: string }): number {
  const expires = raw === undefined ? 3600 : (raw as number);
  if (!Number.isInteger(expires) || expires < range.min || expires > range.max) {
    throw new SimApiError(400, range.message, 'APIArgumentError');
  }
  return expires;
}

const idOf = (raw: string | undefined, missing: string): number => {
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 1) throw notFound(missing);
  return id;
};

const found = <T>(value: T | undefined, missing: string): T => {
  if (value === undefined) throw notFound(missing);
  return value;
};

/** No LDAP server lives in the simulation, so a test connects only in the sense of failing clearly. */
function identityTest(stored: IdentitySettings, body: Record<string, unknown>): { connect_success: boolean; message: string } {
  if (body.provider !== 'ldap') return { connect_success: false, message: 'Only LDAP settings can be tested.' };
  const host = (body.host as string | undefined) ?? (stored.host as string | undefined);
  if (!host) return { connect_success: false, message: 'No LDAP host given.' };
  const port = (body.port as number | undefined) ?? (stored.port as number | undefined) ?? 389;
  return { connect_success: false, message: `Can't contact LDAP server (${host}:${port}).` };
}

export const accessOperations: OperationTable = {
  'GET /access/tokens': ({ ctl }) => ctl.access.tokens(Date.now()),

  'POST /access/token': ({ ctl, body, remoteAddress }) => {
    const b = body as { expires?: number; name?: string; token_name?: string; refreshes?: boolean };
    const expiresS = expiresOf(b.expires, TOKEN_EXPIRES);
    const name = b.name ?? b.token_name ?? '';
    return created(ctl.access.createToken({ name, expiresS, refreshes: b.refreshes ?? false, ip: remoteAddress }, Date.now()));
  },

  'GET /access/token/{token_id}': ({ ctl, params }) => found(ctl.access.token(idOf(params.token_id, TOKEN_MISSING), Date.now()), TOKEN_MISSING),

  'PUT /access/token/{token_id}': ({ ctl, params, body }) => {
    const id = idOf(params.token_id, TOKEN_MISSING);
    return found(ctl.access.expireToken(id, (body as { expired?: boolean }).expired === true, Date.now()), TOKEN_MISSING);
  },

  'DELETE /access/token/{token_id}': ({ ctl, params }) => {
    if (!ctl.access.deleteToken(idOf(params.token_id, TOKEN_MISSING))) throw notFound(TOKEN_MISSING);
    return 'Token deleted';
  },

  'GET /access/urls': ({ ctl }) => ctl.access.urls(Date.now()),

  'POST /access/url': ({ ctl, body, remoteAddress }) => {
    const b = body as { expires?: number; name?: string; description?: string; access?: string };
    const expiresS = expiresOf(b.expires, URL_EXPIRES);
    const input = { name: b.name ?? b.description ?? '', expiresS, access: b.access ?? 'rs', ip: remoteAddress, publicIp: ctl.identity.publicIp };
    return created(ctl.access.createUrl(input, Date.now()));
  },

  'DELETE /access/url': ({ ctl, body }) => {
    const b = body as { access_url_id?: number; access_url?: string };
    if (!ctl.access.deleteUrl({ id: b.access_url_id, url: b.access_url })) throw notFound(URL_MISSING);
    return 'Access url deleted';
  },

  'GET /access/url/{access_url_id}': ({ ctl, params }) => found(ctl.access.url(idOf(params.access_url_id, URL_MISSING), Date.now()), URL_MISSING),

  'PUT /access/url/{access_url_id}': ({ ctl, params, body }) => {
    const id = idOf(params.access_url_id, URL_MISSING);
    return found(ctl.access.expireUrl(id, (body as { expired?: boolean }).expired === true, Date.now()), URL_MISSING);
  },

  'DELETE /access/url/{access_url_id}': ({ ctl, params }) => {
    if (!ctl.access.deleteUrl({ id: idOf(params.access_url_id, URL_MISSING) })) throw notFound(URL_MISSING);
    return 'Access url deleted';
  },

  'GET /identity/vpn': ({ ctl }) => ctl.access.identity('vpn'),
  'PUT /identity/vpn': ({ ctl, body }) => ctl.access.setIdentity('vpn', body as IdentitySettings),
  'POST /identity/vpn/test': ({ ctl, body }) => identityTest(ctl.access.identityWithSecrets('vpn'), body as Record<string, unknown>),

  'GET /identity/controller': ({ ctl }) => ctl.access.identity('controller'),
  'PUT /identity/controller': ({ ctl, body }) => ctl.access.setIdentity('controller', body as IdentitySettings),
  'POST /identity/controller/test': ({ ctl, body }) =>
    identityTest(ctl.access.identityWithSecrets('controller'), body as Record<string, unknown>),
};

