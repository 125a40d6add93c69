import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createClient,
  Vns3ApiError,
  Vns3ConnectionError,
  Vns3TimeoutError,
  Vns3ValidationError,
  type Middleware,
  type RequestEvent,
  type Vns3Client,
} from '../../src/client/index.js';
import { makeSelfSignedCert, sendJson, startHttpsServer, type TestCert, type TestHttpsServer } from '../helpers/tls.js';
import { freePort } from '../helpers/net.js';

const PASSWORD = 'mw-pass-0123';
const FAST_RETRY = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2 };

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** What one middleware saw: `phase method schemaPath url` per callback. */
function recorder(): { middleware: Middleware; log: string[]; requestHeaders: Headers[] } {
  const log: string[] = [];
  const requestHeaders: Headers[] = [];
  const middleware: Middleware = {
    onRequest({ request, schemaPath }) {
      requestHeaders.push(new Headers(request.headers));
      log.push(`request ${request.method} ${schemaPath} ${new URL(request.url).pathname}`);
    },
    onResponse({ request, response, schemaPath }) {
      log.push(`response ${request.method} ${schemaPath} ${response.status}`);
    },
    onError({ request, schemaPath, error }) {
      log.push(`error ${request.method} ${schemaPath} ${(error as Error).name}`);
    },
  };
  return { middleware, log, requestHeaders };
}

describe('middleware on every request', () => {
  let cert: TestCert;
  let server: TestHttpsServer;
  const seen: Seen[] = [];
  const hanging: ServerResponse[] = [];
  const clients: Vns3Client[] = [];
  const make = (options: Partial<Parameters<typeof createClient>[0]> = {}): Vns3Client => {
    const c = createClient({ host: server.host, password: PASSWORD, fingerprint256: cert.fingerprint256, retry: FAST_RETRY, ...options });
    clients.push(c);
    return c;
  };
  const hits = (path: string): number => seen.filter((s) => s.url === `/api${path}`).length;

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    server = await startHttpsServer(cert, (req, res) => {
      const url = req.url ?? '';
      seen.push({ method: req.method ?? '', url, headers: req.headers });
      if (url === '/api/cloud_data') return sendJson(res, 503, { error: { name: 'ServiceUnavailable', message: 'Rebooting.' } });
      if (url === '/api/peering') {
        hanging.push(res);
        return;
      }
      if (url === '/api/routes' && req.method === 'POST') return sendJson(res, 200, { response: { '1': { id: 1 } } });
      if (url === '/api/status/system') return sendJson(res, 200, { response: { moved: true } });
      return sendJson(res, 200, { response: { path: url, trace: req.headers['x-trace'] ?? null } });
    });
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  afterAll(async () => {
    for (const res of hanging) res.destroy();
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  it('sees typed-verb and raw requests, each exactly once, and never the credentials', async () => {
    const client = make();
    const { middleware, log, requestHeaders } = recorder();
    client.use(middleware);
    await client.get('/config');
    await client.post('/routes', { body: { cidr: '10.0.0.0/24' } });
    await client.raw.GET('/config');
    await client.delete('/routes/{route_id}', { params: { path: { route_id: 7 } } });
    expect(log).toEqual([
      'request GET /config /api/config',
      'response GET /config 200',
      'request POST /routes /api/routes',
      'response POST /routes 200',
      'request GET /config /api/config',
      'response GET /config 200',
      'request DELETE /routes/{route_id} /api/routes/7',
      'response DELETE /routes/{route_id} 200',
    ]);
    // The transport adds auth below the middleware; the server got it all the same.
    for (const headers of requestHeaders) {
      expect(headers.has('authorization')).toBe(false);
      expect(headers.has('api-token')).toBe(false);
    }
    expect(seen.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from(`api:${PASSWORD}`).toString('base64')}`);
  });

  it('runs once per call while the transport retries below it', async () => {
    const events: RequestEvent[] = [];
    const client = make({ onRequest: (e) => events.push(e) });
    const { middleware, log } = recorder();
    client.use(middleware);
    const before = hits('/cloud_data');
    await expect(client.get('/cloud_data')).rejects.toBeInstanceOf(Vns3ApiError);
    expect(hits('/cloud_data') - before).toBe(FAST_RETRY.retries + 1);
    expect(events.map((e) => `${e.attempt} ${e.path} ${e.status}`)).toEqual(['1 /cloud_data 503', '2 /cloud_data 503', '3 /cloud_data 503']);
    expect(log).toEqual(['request GET /cloud_data /api/cloud_data', 'response GET /cloud_data 503']);
  });

  it('can add a header that reaches the server, from the typed verbs and from raw', async () => {
    const client = make();
    client.use({
      onRequest({ request }) {
        request.headers.set('X-Trace', 'trace-42');
        return request;
      },
    });
    await expect(client.get('/config')).resolves.toEqual({ path: '/api/config', trace: 'trace-42' });
    expect(seen.at(-1)?.headers['x-trace']).toBe('trace-42');
    const { data } = await client.raw.GET('/config');
    expect(data).toEqual({ response: { path: '/api/config', trace: 'trace-42' } });
  });

  it('can send the request elsewhere by returning a new Request', async () => {
    const client = make();
    client.use({
      onRequest({ request }) {
        return new Request(request.url.replace('/api/config', '/api/status/system'), request);
      },
    });
    await expect(client.get('/config')).resolves.toEqual({ moved: true });
    expect(seen.at(-1)?.url).toBe('/api/status/system');
  });

  it('can replace the response, and a Response from onRequest skips the network', async () => {
    const client = make();
    const replace: Middleware = {
      onResponse: () => new Response(JSON.stringify({ response: { replaced: true } }), { headers: { 'content-type': 'application/json' } }),
    };
    client.use(replace);
    await expect(client.get('/config')).resolves.toEqual({ replaced: true });
    client.eject(replace);

    const before = seen.length;
    client.use({ onRequest: () => new Response('{"error":{"name":"Nope","message":"from middleware"}}', { status: 409 }) });
    const err = (await client.put('/config', { body: { topology_name: 'x' } }).catch((e: unknown) => e)) as Vns3ApiError;
    expect(err).toBeInstanceOf(Vns3ApiError);
    expect(err.status).toBe(409);
    expect(err.apiMessage).toBe('from middleware');
    expect(seen.length).toBe(before);
  });

  it('sees transport errors in onError, which may answer with a Response or replace the error', async () => {
    const port = await freePort();
    const client = createClient({ host: `127.0.0.1:${port}`, password: PASSWORD, insecure: true, retry: false });
    clients.push(client);
    const errors: unknown[] = [];
    const rescue: Middleware = {
      onError({ error }) {
        errors.push(error);
        return new Response('{"response":{"offline":true}}', { headers: { 'content-type': 'application/json' } });
      },
    };
    client.use(rescue);
    await expect(client.get('/config')).resolves.toEqual({ offline: true });
    expect(errors[0]).toBeInstanceOf(Vns3ConnectionError);
    expect((errors[0] as Vns3ConnectionError).code).toBe('ECONNREFUSED');

    client.eject(rescue);
    const replaced = new Error('replaced by middleware');
    client.use({ onError: () => replaced });
    await expect(client.get('/config')).rejects.toBe(replaced);
    await expect(client.raw.GET('/config')).rejects.toBe(replaced);
  });

  it('keeps the per-call timeout and signal on the middleware path', async () => {
    const client = make({ retry: false });
    const { middleware, log } = recorder();
    client.use(middleware);
    const err = (await client.get('/peering', { timeoutMs: 50 }).catch((e: unknown) => e)) as Vns3TimeoutError;
    expect(err).toBeInstanceOf(Vns3TimeoutError);
    expect(err.timeoutMs).toBe(50);
    expect(log).toEqual(['request GET /peering /api/peering', 'error GET /peering Vns3TimeoutError']);

    const controller = new AbortController();
    const reason = new Error('caller stopped');
    const pending = client.get('/peering', { signal: controller.signal }).catch((e: unknown) => e);
    const hung = hanging.length;
    for (let i = 0; i < 200 && hanging.length === hung; i++) await new Promise((r) => setTimeout(r, 5));
    controller.abort(reason);
    await expect(pending).resolves.toBe(reason);
  });

  it('shares one list between client.use and client.raw.use, and eject stops it', async () => {
    const client = make();
    const { middleware, log } = recorder();
    client.raw.use(middleware);
    await client.get('/config');
    expect(log).toHaveLength(2);
    client.eject(middleware);
    await client.get('/config');
    await client.raw.GET('/config');
    expect(log).toHaveLength(2);
  });

  it('builds no WHATWG Response on the typed verbs without middleware, and does with it', async () => {
    let built = 0;
    const Counting = class extends Response {
      constructor(...args: ConstructorParameters<typeof Response>) {
        super(...args);
        built++;
      }
    };
    vi.stubGlobal('Response', Counting);
    const client = make();
    await client.get('/config');
    await client.post('/routes', { body: { cidr: '10.0.0.0/24' } });
    expect(built).toBe(0);
    client.use({ onRequest: () => undefined });
    await client.get('/config');
    expect(built).toBeGreaterThan(0);
  });

  it('rejects an entry that is not a middleware with Vns3ValidationError, registering nothing', async () => {
    const client = make();
    const { middleware, log } = recorder();
    expect(() => client.use(middleware, { onNothing: () => undefined } as unknown as Middleware)).toThrow(Vns3ValidationError);
    await client.get('/config');
    expect(log).toEqual([]);
  });
});
