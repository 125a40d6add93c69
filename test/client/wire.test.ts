import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Middleware, type Vns3Client } from '../../src/client/index.js';
import { makeSelfSignedCert, sendJson, startHttpsServer, type TestCert, type TestHttpsServer } from '../helpers/tls.js';

const TOKEN = 'wire-token-0123';
/** Every byte value, including sequences that are not valid UTF-8: a text round trip would mangle them. */
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaderNames: string[];
  body: string;
}

/** A middleware that changes nothing: registering it moves the typed verbs onto openapi-fetch's Request path. */
const NOOP: Middleware = { onRequest: () => undefined };

/**
 * The typed verbs take undici's request() without middleware and openapi-fetch's Request path with
 * it; `raw` always takes the latter. All three must put the same bytes on the wire.
 */
describe('what the typed helpers put on the wire', () => {
  let cert: TestCert;
  let server: TestHttpsServer;
  const seen: Seen[] = [];
  const hanging: ServerResponse[] = [];
  const clients: Vns3Client[] = [];
  const make = (opts: Partial<Parameters<typeof createClient>[0]> = {}): Vns3Client => {
    const c = createClient({ host: server.host, apiToken: TOKEN, fingerprint256: cert.fingerprint256, retry: false, ...opts });
    clients.push(c);
    return c;
  };
  const last = (): Seen => {
    const entry = seen.at(-1);
    if (!entry) throw new Error('the server saw no request');
    return entry;
  };

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    server = await startHttpsServer(cert, (req, res, body) => {
      const url = req.url ?? '';
      seen.push({
        method: req.method ?? '',
        url,
        headers: req.headers,
        rawHeaderNames: req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()),
        body,
      });
      if (url.startsWith('/api/container_system/containers/')) return sendJson(res, 200, { response: { lines: ['a', 'b'] } });
      if (url === '/api/status/system') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BINARY.length });
        return res.end(BINARY);
      }
      if (url === '/api/routes/9' && req.method === 'DELETE') {
        res.writeHead(204);
        return res.end();
      }
      if (url === '/api/peering') {
        hanging.push(res);
        return;
      }
      return sendJson(res, 200, { response: { ok: true } });
    });
  });

  afterAll(async () => {
    for (const res of hanging) res.destroy();
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  /** The URL the server saw for one GET of the container logs, through each of the three paths. */
  async function logsUrls(params: { path: { uuid: string }; query?: unknown }): Promise<string[]> {
    const client = make();
    const typedParams = params as { path: { uuid: string }; query: { lines: number } };
    const urls: string[] = [];
    await client.get('/container_system/containers/{uuid}/logs', { params: typedParams });
    urls.push(last().url);
    await client.raw.GET('/container_system/containers/{uuid}/logs', { params: typedParams });
    urls.push(last().url);
    client.use(NOOP);
    await client.get('/container_system/containers/{uuid}/logs', { params: typedParams });
    urls.push(last().url);
    return urls;
  }

  it('percent-encodes path parameters (space, slash, question mark, percent, unicode)', async () => {
    const urls = await logsUrls({ path: { uuid: 'a b/c?d%e#ü' }, query: { lines: 5 } });
    expect(urls).toEqual(Array(3).fill('/api/container_system/containers/a%20b%2Fc%3Fd%25e%23%C3%BC/logs?lines=5'));
  });

  it('repeats array query keys, leaves out undefined and null, and encodes a space as %20', async () => {
    const query = { lines: 3, tag: ['x y', 'z&w'], skip: undefined, none: null, empty: [] };
    const urls = await logsUrls({ path: { uuid: 'u1' }, query });
    expect(urls).toEqual(Array(3).fill('/api/container_system/containers/u1/logs?lines=3&tag=x%20y&tag=z%26w'));
  });

  it('sends no query string when every query value is absent, and booleans and numbers as text', async () => {
    expect(await logsUrls({ path: { uuid: 'u2' }, query: { skip: undefined } })).toEqual(Array(3).fill('/api/container_system/containers/u2/logs'));
    expect(await logsUrls({ path: { uuid: 'u3' }, query: { force: true, n: 0 } })).toEqual(
      Array(3).fill('/api/container_system/containers/u3/logs?force=true&n=0'),
    );
  });

  it('sends caller headers once, whatever their case, and never lets them replace the credentials', async () => {
    const client = make();
    await client.put('/config', {
      body: { topology_name: 'wire' },
      headers: { 'X-Trace': 'abc', Accept: 'application/vnd.test+json', 'Api-Token': 'forged', Authorization: 'Basic Zm9vOmJhcg==' },
    });
    const req = last();
    expect(req.headers['x-trace']).toBe('abc');
    expect(req.headers.accept).toBe('application/vnd.test+json');
    expect(req.headers['api-token']).toBe(TOKEN);
    expect(req.headers.authorization).toBeUndefined();
    expect(req.headers['content-type']).toBe('application/json');
    for (const name of ['accept', 'api-token', 'content-type', 'x-trace']) {
      expect(req.rawHeaderNames.filter((n) => n === name)).toHaveLength(1);
    }
    expect(JSON.parse(req.body)).toEqual({ topology_name: 'wire' });
  });

  it('sends the same headers and body for a JSON body through all three paths', async () => {
    const client = make();
    const body = { cidr: '10.3.0.0/24', description: 'ünïcode ✓' };
    await client.post('/routes', { body });
    const typed = last();
    await client.raw.POST('/routes', { body });
    const viaRaw = last();
    client.use(NOOP);
    await client.post('/routes', { body });
    const viaMiddleware = last();
    for (const other of [viaRaw, viaMiddleware]) {
      for (const name of ['accept', 'api-token', 'content-type', 'content-length'] as const) {
        expect(other.headers[name], name).toBe(typed.headers[name]);
      }
      expect(other.body).toBe(typed.body);
    }
    expect(typed.headers['content-type']).toBe('application/json');
  });

  it('sends a string body verbatim as text/plain from the typed verbs, with or without middleware', async () => {
    const client = make();
    await client.put('/license', { body: 'LICENSE TEXT\nline 2' } as never);
    const typed = last();
    client.use(NOOP);
    await client.put('/license', { body: 'LICENSE TEXT\nline 2' } as never);
    for (const req of [typed, last()]) {
      expect(req.headers['content-type']).toBe('text/plain');
      expect(req.body).toBe('LICENSE TEXT\nline 2');
    }
  });

  it('answers undefined for a 204 without a body', async () => {
    const client = make();
    await expect(client.delete('/routes/{route_id}', { params: { path: { route_id: 9 } } })).resolves.toBeUndefined();
    expect(last().method).toBe('DELETE');
  });

  it('the raw client still receives binary bodies byte for byte', async () => {
    const client = make();
    const { data, response } = await client.raw.GET('/status/system', { parseAs: 'arrayBuffer' });
    expect(response.status).toBe(200);
    expect(data).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(data as ArrayBuffer).equals(BINARY)).toBe(true);
  });

  it('a per-call signal aborts with its own reason while the client-wide signal stays quiet', async () => {
    const clientWide = new AbortController();
    const client = make({ signal: clientWide.signal });
    const perCall = new AbortController();
    const reason = new Error('stop this one');
    const pending = client.get('/peering', { signal: perCall.signal }).catch((e: unknown) => e);
    for (let i = 0; i < 200 && hanging.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    perCall.abort(reason);
    await expect(pending).resolves.toBe(reason);
    expect(clientWide.signal.aborted).toBe(false);
    await expect(client.get('/config')).resolves.toEqual({ ok: true });
  });
});
