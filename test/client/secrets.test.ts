import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClient,
  Vns3ApiError,
  Vns3ConnectionError,
  Vns3TimeoutError,
  Vns3ValidationError,
  type RequestEvent,
  type Vns3Client,
} from '../../src/client/index.js';
import { makeSelfSignedCert, sendJson, startHttpsServer, type TestCert, type TestHttpsServer } from '../helpers/tls.js';
import { freePort } from '../helpers/net.js';

const PASSWORD = 'Pw-SECRET-4f9c';
const NEW_PASSWORD = 'Pw-NEW-SECRET-77aa';
const TOKEN = 'Tok-SECRET-9d1e';
const KEYSET_TOKEN = 'Keyset-SECRET-0b3a';
const LICENSE = 'LICENSE-SECRET-BODY-55e2';
const SECRETS = [
  PASSWORD,
  NEW_PASSWORD,
  TOKEN,
  KEYSET_TOKEN,
  LICENSE,
  Buffer.from(`api:${PASSWORD}`).toString('base64'),
  Buffer.from(`api:${NEW_PASSWORD}`).toString('base64'),
];

/** Every way an error or event may end up in a log. */
function renderings(value: unknown): string[] {
  const out = [inspect(value, { depth: 5, showHidden: true }), JSON.stringify(value) ?? ''];
  if (value instanceof Error) {
    out.push(value.message, String(value), value.stack ?? '', inspect(value.cause, { depth: 5, showHidden: true }));
    out.push(JSON.stringify(value, Object.getOwnPropertyNames(value)));
  }
  return out;
}

function expectNoSecret(value: unknown): void {
  for (const text of renderings(value)) {
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  }
}


describe('secrets never leak', () => {
  let cert: TestCert;
  let server: TestHttpsServer;
  const events: RequestEvent[] = [];
  const errors: unknown[] = [];
  const clients: Vns3Client[] = [];
  const make = (opts: Partial<Parameters<typeof createClient>[0]> = {}): Vns3Client => {
    const c = createClient({
      host: server.host,
      password: PASSWORD,
      fingerprint256: cert.fingerprint256,
      retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 2 },
      onRequest: (e) => events.push(e),
      ...opts,
    });
    clients.push(c);
    return c;
  };
  const capture = async (p: Promise<unknown>): Promise<unknown> => {
    const err = await p.then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    errors.push(err);
    return err;
  };

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    server = await startHttpsServer(cert, (req, res) => {
      if (req.url === '/api/keyset') return; // hang
      if (req.url === '/api/license') {
        return sendJson(res, 400, { error: { name: 'BadRequest', message: 'License is not valid.' } });
      }
      return sendJson(res, 401, { error: { name: 'Unauthorized', message: 'Authentication failed.' } });
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  it('in API errors, timeouts, connection, pin and validation errors, and hook events', async () => {
    const basic = make();
    expect(await capture(basic.put('/license', { body: LICENSE }))).toBeInstanceOf(Vns3ApiError);
    expect(await capture(basic.put('/api_password', { body: { password: NEW_PASSWORD } }))).toBeInstanceOf(Vns3ApiError);
    basic.setPassword(NEW_PASSWORD);
    expect(await capture(basic.put('/keyset', { body: { token: KEYSET_TOKEN }, timeoutMs: 50 }))).toBeInstanceOf(
      Vns3TimeoutError,
    );

    const token = make({ apiToken: TOKEN });
    expect(await capture(token.get('/config'))).toBeInstanceOf(Vns3ApiError);

    const wrongPin = make({ apiToken: TOKEN, fingerprint256: '00'.repeat(32) });
    const pinErr = await capture(wrongPin.put('/keyset', { body: { token: KEYSET_TOKEN } }));
    expect((pinErr as Vns3ConnectionError).code).toBe('FINGERPRINT_MISMATCH');

    const refused = createClient({ host: `127.0.0.1:${await freePort()}`, password: PASSWORD, insecure: true, retry: false, onRequest: (e) => events.push(e) });
    clients.push(refused);
    expect(await capture(refused.put('/api_password', { body: { password: NEW_PASSWORD } }))).toBeInstanceOf(
      Vns3ConnectionError,
    );

    expect(() => basic.setPassword('')).toThrow(Vns3ValidationError);
    try {
      createClient({ host: server.host, password: 42 as unknown as string });
    } catch (err) {
      errors.push(err);
    }
    errors.push(new Vns3ValidationError('password', PASSWORD, 'is too short', { secret: true, controller: server.host }));

    expect(errors.length).toBe(8);
    // The check itself must be able to fail.
    expect(() => expectNoSecret(new Error('x', { cause: { header: `Basic ${SECRETS[5]}` } }))).toThrow();
    expect(events.length).toBeGreaterThanOrEqual(6);
    for (const err of errors) expectNoSecret(err);
    for (const event of events) expectNoSecret(event);
    const validation = errors.at(-1) as Vns3ValidationError;
    expect(validation.message).toBe(`Invalid password: [redacted] (is too short) [controller ${server.host}]`);
    expect(validation.value).toBe('[redacted]');
  });
});
