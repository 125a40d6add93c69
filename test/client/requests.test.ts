import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, Vns3ApiError, Vns3Error, type Vns3Client } from '../../src/client/index.js';
import { makeSelfSignedCert, sendJson, startHttpsServer, type TestCert, type TestHttpsServer } from '../helpers/tls.js';

const PASSWORD = 'pa55-word-abc';
const NEW_PASSWORD = 'new-pa55-word-def';
const TOKEN = 'tok-0123456789';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  apiToken?: string;
  contentType?: string;
  body: string;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe('requests, auth and errors', () => {
  let cert: TestCert;
  let server: TestHttpsServer;
  const seen: Seen[] = [];
  const clients: Vns3Client[] = [];
  const make = (opts: Partial<Parameters<typeof createClient>[0]> = {}): Vns3Client => {
    const c = createClient({ host: server.host, fingerprint256: cert.fingerprint256, retry: false, ...opts });
    clients.push(c);
    return c;
  };

  function authorized(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    const token = req.headers['api-token'];
    return auth === basic('api', PASSWORD) || auth === basic('api', NEW_PASSWORD) || token === TOKEN;
  }

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    server = await startHttpsServer(cert, (req, res, body) => {
      const url = req.url ?? '';
      seen.push({
        method: req.method ?? '',
        url,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        ...(typeof req.headers['api-token'] === 'string' ? { apiToken: req.headers['api-token'] } : {}),
        ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
        body,
      });
      if (!authorized(req)) return sendJson(res, 401, { error: { name: 'Unauthorized', message: 'Authentication failed.' } });
      if (url === '/api/config') return sendJson(res, 200, { response: { licensed: false, topology_name: 't' } });
      if (url === '/api/license' && req.method === 'GET') {
        return sendJson(res, 403, { error: { name: 'Forbidden', message: 'Must be licensed first.' } });
      }
      if (url === '/api/license' && req.method === 'PUT') return sendJson(res, 200, { response: { finalized: false } });
      if (url === '/api/routes' && req.method === 'POST') {
        const route = JSON.parse(body) as { cidr: string };
        return sendJson(res, 200, { response: { '1': { cidr: route.cidr, id: 1 } } });
      }
      if (url === '/api/routes/7' && req.method === 'DELETE') return sendJson(res, 200, { response: {} });
      if (url === '/api/keyset') return sendJson(res, 500, { error: { name: 'InternalError', message: 'Keyset exploded.' } });
      if (url === '/api/api_password') return sendJson(res, 200, { response: { password_updated: true } });
      if (url === '/api/status/system') {
        res.writeHead(500, { 'content-type': 'text/html' });
        return res.end(`<html><body>${'x'.repeat(1000)}</body></html>`);
      }
      return sendJson(res, 404, { error: { name: 'NotFound', message: 'No such path.' } });
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  it('sends basic auth as user "api" and unwraps the response envelope', async () => {
    const client = make({ password: PASSWORD });
    expect(client.host).toBe(server.host);
    expect(client.baseUrl).toBe(`https://${server.host}/api`);
    const config = await client.get('/config');
    expect(config).toEqual({ licensed: false, topology_name: 't' });
    expect(seen.at(-1)?.authorization).toBe(basic('api', PASSWORD));
    expect(seen.at(-1)?.apiToken).toBeUndefined();
  });

  it('sends the api-token header instead of basic auth', async () => {
    const client = make({ apiToken: TOKEN });
    await client.get('/config');
    expect(seen.at(-1)?.apiToken).toBe(TOKEN);
    expect(seen.at(-1)?.authorization).toBeUndefined();
  });

  it('uses a new password after setPassword, and a token after setApiToken', async () => {
    const client = make({ password: PASSWORD });
    await client.put('/api_password', { body: { password: NEW_PASSWORD } });
    client.setPassword(NEW_PASSWORD);
    await client.get('/config');
    expect(seen.at(-1)?.authorization).toBe(basic('api', NEW_PASSWORD));
    client.setApiToken(TOKEN);
    await client.get('/config');
    expect(seen.at(-1)?.apiToken).toBe(TOKEN);
  });

  it('sends JSON bodies and path params, and the license verbatim as text/plain', async () => {
    const client = make({ password: PASSWORD });
    const routes = await client.post('/routes', { body: { cidr: '10.9.0.0/24' } });
    expect(routes).toEqual({ '1': { cidr: '10.9.0.0/24', id: 1 } });
    expect(seen.at(-1)?.contentType).toBe('application/json');
    expect(JSON.parse(seen.at(-1)?.body ?? '')).toEqual({ cidr: '10.9.0.0/24' });

    await client.delete('/routes/{route_id}', { params: { path: { route_id: 7 } } });
    expect(seen.at(-1)?.url).toBe('/api/routes/7');

    const license = '-----BEGIN LICENSE-----\n"quoted" text\n-----END LICENSE-----\n';
    await expect(client.put('/license', { body: license })).resolves.toEqual({ finalized: false });
    expect(seen.at(-1)?.contentType).toMatch(/^text\/plain/);
    expect(seen.at(-1)?.body).toBe(license);
  });

  it.each([
    ['401', '/config', { password: 'wrong-password' }, 401, 'Authentication failed.', 'Unauthorized'],
    ['403', '/license', { password: PASSWORD }, 403, 'Must be licensed first.', 'Forbidden'],
    ['500', '/keyset', { password: PASSWORD }, 500, 'Keyset exploded.', 'InternalError'],
  ] as const)('turns a %s into a Vns3ApiError with the controller message', async (_label, path, opts, status, message, name) => {
    const client = make(opts);
    const err = await client.get(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3ApiError);
    expect(err).toBeInstanceOf(Vns3Error);
    const api = err as Vns3ApiError;
    expect(api.status).toBe(status);
    expect(api.apiMessage).toBe(message);
    expect(api.errorName).toBe(name);
    expect(api.method).toBe('GET');
    expect(api.path).toBe(path);
    expect(api.host).toBe(server.host);
    expect(api.controller).toBe(server.host);
    expect(api.name).toBe('Vns3ApiError');
    expect(api.message).toBe(`GET ${path} on ${server.host} failed with ${status}: ${message}`);
  });

  it('keeps only a short excerpt of a non-JSON error body', async () => {
    const client = make({ password: PASSWORD });
    const err = (await client.get('/status/system').catch((e: unknown) => e)) as Vns3ApiError;
    expect(err).toBeInstanceOf(Vns3ApiError);
    expect(err.status).toBe(500);
    expect(err.apiMessage.startsWith('<html><body>xxx')).toBe(true);
    expect(err.apiMessage.length).toBeLessThanOrEqual(200);
  });

  it('the raw openapi-fetch client shares auth and returns HTTP errors instead of throwing', async () => {
    const client = make({ password: PASSWORD });
    const ok = await client.raw.GET('/config');
    expect(ok.response.status).toBe(200);
    expect(ok.data).toEqual({ response: { licensed: false, topology_name: 't' } });
    const failed = await client.raw.GET('/license');
    expect(failed.response.status).toBe(403);
    expect(failed.error).toEqual({ error: { name: 'Forbidden', message: 'Must be licensed first.' } });
    expect(seen.at(-1)?.authorization).toBe(basic('api', PASSWORD));
  });
});
