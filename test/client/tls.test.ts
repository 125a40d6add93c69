import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, Vns3ConnectionError, type Vns3Client } from '../../src/client/index.js';
import {
  makeCa,
  makeLeafCert,
  makeSelfSignedCert,
  sendJson,
  startHttpsServer,
  type TestCert,
  type TestHttpsServer,
} from '../helpers/tls.js';

const config = { licensed: false, vns3_version: '6.0.0', topology_name: 'tls-test' };

function flipFingerprint(fp: string): string {
  const first = fp[0] === 'A' ? 'B' : 'A';
  return first + fp.slice(1);
}

async function expectConnectionError(promise: Promise<unknown>): Promise<Vns3ConnectionError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Vns3ConnectionError);
  return err as Vns3ConnectionError;
}

describe('TLS verification', () => {
  let selfSigned: TestCert;
  let other: TestCert;
  let ca: TestCert;
  let leaf: TestCert;
  let selfServer: TestHttpsServer;
  let caServer: TestHttpsServer;
  const clients: Vns3Client[] = [];
  const track = (c: Vns3Client): Vns3Client => (clients.push(c), c);

  beforeAll(async () => {
    [selfSigned, other, ca] = await Promise.all([makeSelfSignedCert(), makeSelfSignedCert(), makeCa()]);
    leaf = await makeLeafCert(ca);
    selfServer = await startHttpsServer(selfSigned, (_req, res) => sendJson(res, 200, { response: config }));
    caServer = await startHttpsServer(leaf, (_req, res) => sendJson(res, 200, { response: config }));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([selfServer?.close(), caServer?.close()]);
  });

  it('trusts a CA given as PEM and verifies the leaf it signed', async () => {
    const client = track(createClient({ host: caServer.host, password: 'pw', ca: ca.cert, retry: false }));
    await expect(client.get('/config')).resolves.toEqual(config);
  });

  it('trusts a self-signed controller certificate given as `ca`', async () => {
    const client = track(createClient({ host: selfServer.host, password: 'pw', ca: selfSigned.cert, retry: false }));
    await expect(client.get('/config')).resolves.toEqual(config);
  });

  it('refuses a certificate from an unknown CA', async () => {
    const client = track(createClient({ host: caServer.host, password: 'pw', ca: other.cert, retry: false }));
    const err = await expectConnectionError(client.get('/config'));
    expect(err.code).toBeTruthy();
    expect(err.code).not.toBe('ECONNREFUSED');
    expect(err.host).toBe(caServer.host);
  });

  it('refuses a self-signed certificate by default, and accepts it only with insecure: true', async () => {
    const strict = track(createClient({ host: selfServer.host, password: 'pw', retry: false }));
    const err = await expectConnectionError(strict.get('/config'));
    expect(err.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    // The first error a real controller gives says what to do, with the fingerprint to check and pin.
    expect(err.fingerprint256).toBe(selfSigned.fingerprint256);
    expect(err.message).toContain(`It presented SHA-256 fingerprint ${selfSigned.fingerprint256}`);
    expect(err.message).toContain('`fingerprint256`');
    expect(err.message).toContain('`ca`');
    expect(err.message.match(/DEPTH_ZERO_SELF_SIGNED_CERT/g)?.length).toBe(1);

    const notTrue = track(
      createClient({ host: selfServer.host, password: 'pw', retry: false, insecure: 'yes' as unknown as boolean }),
    );
    await expectConnectionError(notTrue.get('/config'));

    const insecure = track(createClient({ host: selfServer.host, password: 'pw', retry: false, insecure: true }));
    await expect(insecure.get('/config')).resolves.toEqual(config);
  });

  it('accepts a matching fingerprint pin without any CA, in colon or plain lower-case hex', async () => {
    const colon = track(createClient({ host: selfServer.host, password: 'pw', fingerprint256: selfSigned.fingerprint256 }));
    await expect(colon.get('/config')).resolves.toEqual(config);
    const plain = track(
      createClient({
        host: selfServer.host,
        password: 'pw',
        fingerprint256: selfSigned.fingerprint256.replace(/:/g, '').toLowerCase(),
      }),
    );
    await expect(plain.get('/config')).resolves.toEqual(config);
  });

  it('refuses a mismatching pin, even against a server another client just used successfully', async () => {
    const good = track(createClient({ host: selfServer.host, password: 'pw', fingerprint256: selfSigned.fingerprint256 }));
    await expect(good.get('/config')).resolves.toEqual(config);
    const wrong = track(
      createClient({ host: selfServer.host, password: 'pw', fingerprint256: flipFingerprint(selfSigned.fingerprint256) }),
    );
    const err = await expectConnectionError(wrong.get('/config'));
    expect(err.code).toBe('FINGERPRINT_MISMATCH');
    expect(err.fingerprint256).toBe(selfSigned.fingerprint256);
    expect(err.message).toContain(`not the pinned ${flipFingerprint(selfSigned.fingerprint256)}`);
    // A second try must not ride on a pooled or resumed connection either.
    const again = await expectConnectionError(wrong.get('/config'));
    expect(again.code).toBe('FINGERPRINT_MISMATCH');
    await expect(good.get('/config')).resolves.toEqual(config);
  });

  it('notices when the server certificate changes between requests of one pinned client', async () => {
    const first = await makeSelfSignedCert();
    const second = await makeSelfSignedCert();
    const server = await startHttpsServer(first, (_req, res) => sendJson(res, 200, { response: config }));
    try {
      const client = track(createClient({ host: server.host, password: 'pw', fingerprint256: first.fingerprint256, retry: false }));
      await expect(client.get('/config')).resolves.toEqual(config);
      server.setCert(second);
      server.dropConnections();
      const err = await expectConnectionError(client.get('/config'));
      expect(err.code).toBe('FINGERPRINT_MISMATCH');
      expect(err.message).toContain(second.fingerprint256);
    } finally {
      await server.close();
    }
  });

  it('with a CA and a pin, requires both to hold', async () => {
    const both = track(createClient({ host: caServer.host, password: 'pw', ca: ca.cert, fingerprint256: leaf.fingerprint256 }));
    await expect(both.get('/config')).resolves.toEqual(config);

    const wrongPin = track(
      createClient({ host: caServer.host, password: 'pw', ca: ca.cert, fingerprint256: flipFingerprint(leaf.fingerprint256), retry: false }),
    );
    expect((await expectConnectionError(wrongPin.get('/config'))).code).toBe('FINGERPRINT_MISMATCH');

    const wrongCa = track(
      createClient({ host: caServer.host, password: 'pw', ca: other.cert, fingerprint256: leaf.fingerprint256, retry: false }),
    );
    const err = await expectConnectionError(wrongCa.get('/config'));
    expect(err.code).not.toBe('FINGERPRINT_MISMATCH');
  });
});
