import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, isOutcomeUnknown, isTlsFailure } from '../../src/client/index.js';
import { makeSelfSignedCert, sendJson, startHttpsServer, type TestCert, type TestHttpsServer } from '../helpers/tls.js';

/** Macros re-read before re-sending a write exactly when `isOutcomeUnknown` says the write may have happened. */
describe('classifying a failed request', () => {
  let cert: TestCert;
  let server: TestHttpsServer;
  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    server = await startHttpsServer(cert, (req, res) => {
      if (req.url?.endsWith('/keyset')) return; // never answered
      sendJson(res, 500, { error: { name: 'ServerError', message: 'boom' } });
    });
  });
  afterAll(async () => server?.close());

  const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

  it('a timeout or a broken connection leaves the outcome unknown', async () => {
    // A generous client timeout, so that a busy machine's slow handshake cannot turn the answered
    // request into a timeout; only the hung request gets a short one.
    const client = createClient({ host: server.host, password: 'pw', ca: cert.cert, timeoutMs: 10_000, retry: false });
    // An answer, even an error, means the outcome is known.
    const answered = await failure(client.post('/routes', { body: { cidr: '10.0.0.0/24' } }));
    expect(isOutcomeUnknown(answered)).toBe(false);
    const hung = await failure(client.put('/keyset', { body: { token: 't' }, timeoutMs: 150 }));
    expect(isOutcomeUnknown(hung)).toBe(true);
    expect(isTlsFailure(hung)).toBe(false);
    await client.close();

    const refused = createClient({ host: '127.0.0.1:1', password: 'pw', retry: false, timeoutMs: 2_000 });
    const err = await failure(refused.get('/config'));
    expect(isOutcomeUnknown(err)).toBe(true);
    await refused.close();
  });

  it('a certificate or pin failure is a TLS failure: nothing was sent', async () => {
    const pinned = createClient({ host: server.host, password: 'pw', fingerprint256: '00'.repeat(32), retry: false });
    const mismatch = await failure(pinned.get('/config'));
    expect(isTlsFailure(mismatch)).toBe(true);
    expect(isOutcomeUnknown(mismatch)).toBe(false);
    await pinned.close();

    const untrusted = createClient({ host: server.host, password: 'pw', retry: false });
    const selfSigned = await failure(untrusted.get('/config'));
    expect(isTlsFailure(selfSigned)).toBe(true);
    expect(isOutcomeUnknown(selfSigned)).toBe(false);
    await untrusted.close();
  });
});
