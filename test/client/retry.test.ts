import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createClient,
  Vns3ApiError,
  Vns3ConnectionError,
  Vns3TimeoutError,
  type RequestEvent,
  type Vns3Client,
} from '../../src/client/index.js';
import { makeSelfSignedCert, sendJson, startHttpsServer, type TestCert, type TestHttpsServer } from '../helpers/tls.js';
import { freePort } from '../helpers/net.js';

const FAST_RETRY = { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 };


describe('retries, timeouts and aborts', () => {
  let cert: TestCert;
  let server: TestHttpsServer;
  /** Requests per URL path, counted by the server. */
  const hits = new Map<string, number>();
  /** Hanging requests are held here until the test ends or the client gives up. */
  const hanging: ServerResponse[] = [];
  let onHang: (() => void) | undefined;
  const clients: Vns3Client[] = [];
  const make = (opts: Partial<Parameters<typeof createClient>[0]> = {}): Vns3Client => {
    const c = createClient({ host: server.host, password: 'pw', fingerprint256: cert.fingerprint256, retry: FAST_RETRY, ...opts });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    server = await startHttpsServer(cert, (req, res) => {
      const path = (req.url ?? '').replace(/^\/api/, '');
      const count = (hits.get(path) ?? 0) + 1;
      hits.set(path, count);
      if (path === '/config') {
        return sendJson(res, 503, { error: { name: 'ServiceUnavailable', message: 'Service is rebooting.' } });
      }
      if (path === '/routes') return sendJson(res, 503, { error: { name: 'ServiceUnavailable', message: 'Busy.' } });
      if (path === '/cloud_data') {
        // Down twice, then back: what a controller does at the end of a reboot.
        if (count <= 2) return sendJson(res, 502, { error: { name: 'BadGateway', message: 'Bad gateway.' } });
        return sendJson(res, 200, { response: { cloud_type: 'ec2' } });
      }
      if (path === '/peering' || path === '/peering/peers') {
        hanging.push(res);
        onHang?.();
        return;
      }
      return sendJson(res, 404, { error: { name: 'NotFound', message: 'No such path.' } });
    });
  });

  beforeEach(() => {
    hits.clear();
    onHang = undefined;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  it('retries a 503 on GET and then reports the controller message', async () => {
    const events: RequestEvent[] = [];
    const client = make({ onRequest: (e) => events.push(e) });
    const err = (await client.get('/config').catch((e: unknown) => e)) as Vns3ApiError;
    expect(err).toBeInstanceOf(Vns3ApiError);
    expect(err.status).toBe(503);
    expect(err.apiMessage).toBe('Service is rebooting.');
    expect(hits.get('/config')).toBe(FAST_RETRY.retries + 1);
    expect(events.map((e) => e.attempt)).toEqual([1, 2, 3, 4]);
    expect(events.map((e) => e.willRetry)).toEqual([true, true, true, false]);
    expect(events.every((e) => e.status === 503 && e.method === 'GET' && e.path === '/config')).toBe(true);
  });

  it('returns the answer once a controller comes back from 502s', async () => {
    const client = make();
    await expect(client.get('/cloud_data')).resolves.toEqual({ cloud_type: 'ec2' });
    expect(hits.get('/cloud_data')).toBe(3);
  });

  it('does not retry a POST, unless the call opts in with retry: true', async () => {
    const client = make();
    const err = await client.post('/routes', { body: { cidr: '10.0.0.0/24' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3ApiError);
    expect(hits.get('/routes')).toBe(1);

    hits.clear();
    await client.post('/routes', { body: { cidr: '10.0.0.0/24' }, retry: true }).catch(() => undefined);
    expect(hits.get('/routes')).toBe(FAST_RETRY.retries + 1);
  });

  it('does not retry a GET that opts out, nor any call with retry: false on the client', async () => {
    await make().get('/config', { retry: false }).catch(() => undefined);
    expect(hits.get('/config')).toBe(1);
    hits.clear();
    await make({ retry: false }).get('/config').catch(() => undefined);
    expect(hits.get('/config')).toBe(1);
  });

  it('retries a refused connection on GET but not on POST', async () => {
    const port = await freePort();
    const events: RequestEvent[] = [];
    const client = createClient({ host: `127.0.0.1:${port}`, password: 'pw', insecure: true, retry: FAST_RETRY, onRequest: (e) => events.push(e) });
    clients.push(client);

    const err = (await client.get('/config').catch((e: unknown) => e)) as Vns3ConnectionError;
    expect(err).toBeInstanceOf(Vns3ConnectionError);
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.host).toBe(`127.0.0.1:${port}`);
    expect(events.length).toBe(FAST_RETRY.retries + 1);
    expect(events.every((e) => e.error === 'ECONNREFUSED')).toBe(true);
    // The last error says that retrying already happened, and for how long.
    expect(err.attempts).toBe(FAST_RETRY.retries + 1);
    expect(err.message).toMatch(new RegExp(`failed after ${FAST_RETRY.retries + 1} attempts in \\d+\\.\\d s: `));
    expect(err.message.match(/ECONNREFUSED/g)?.length).toBe(1);

    events.length = 0;
    const postErr = await client.post('/routes', { body: { cidr: '10.0.0.0/24' } }).catch((e: unknown) => e);
    expect(postErr).toBeInstanceOf(Vns3ConnectionError);
    expect(events.length).toBe(1);
    expect(events[0]?.willRetry).toBe(false);
  });

  it('times out each attempt of a hanging GET, retries, then throws Vns3TimeoutError', async () => {
    // Long enough per attempt that each one reaches the server even on a busy machine (the count
    // below is of requests the server saw).
    const client = make({ timeoutMs: 400, retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 } });
    const err = (await client.get('/peering').catch((e: unknown) => e)) as Vns3TimeoutError;
    expect(err).toBeInstanceOf(Vns3TimeoutError);
    expect(err.timeoutMs).toBe(400);
    expect(err.path).toBe('/peering');
    expect(hits.get('/peering')).toBe(3);
    expect(err.attempts).toBe(3);
    expect(err.message).toMatch(/timed out after 400 ms each, 3 attempts in \d+\.\d s$/);
  });

  it('does not retry a POST that timed out (it may have been applied)', async () => {
    const client = make({ timeoutMs: 1_000 });
    const err = await client.post('/peering/peers', { body: { id: 2, name: '10.0.0.2' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3TimeoutError);
    expect(hits.get('/peering/peers')).toBe(1);
  });

  it('a per-call timeoutMs overrides the client one', async () => {
    const client = make({ timeoutMs: 30_000, retry: false });
    const err = (await client.get('/peering', { timeoutMs: 50 }).catch((e: unknown) => e)) as Vns3TimeoutError;
    expect(err).toBeInstanceOf(Vns3TimeoutError);
    expect(err.timeoutMs).toBe(50);
  });

  it('an abort by the caller stops a hanging request at once and is not retried', async () => {
    const client = make({ timeoutMs: 30_000 });
    const controller = new AbortController();
    onHang = () => controller.abort();
    const err = await client.get('/peering', { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('AbortError');
    expect(hits.get('/peering')).toBe(1);
  });

  it('an abort during the backoff stops further retries', async () => {
    const client = make({ retry: { retries: 5, minTimeoutMs: 20_000, maxTimeoutMs: 20_000 } });
    const controller = new AbortController();
    const pending = client.get('/config', {
      signal: controller.signal,
    });
    // Abort once the first 503 has been answered, while the client waits to retry.
    const deadline = Date.now() + 10_000;
    while (hits.get('/config') !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(hits.get('/config')).toBe(1);
  });

  it('the client-wide signal aborts its requests', async () => {
    const controller = new AbortController();
    const client = make({ signal: controller.signal, timeoutMs: 30_000 });
    onHang = () => controller.abort();
    const err = await client.get('/peering').catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(hits.get('/peering')).toBe(1);
    // Once aborted, the client sends nothing more.
    const again = await client.get('/config').catch((e: unknown) => e);
    expect((again as Error).name).toBe('AbortError');
    expect(hits.get('/config')).toBeUndefined();
  });
});
