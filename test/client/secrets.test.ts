import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
import type { Vns3Event } from '../../src/events.js';
import {
  connectControllers,
  deployHaPlugin,
  ensureContainer,
  fetchKeysets,
  licenseControllers,
  peerMesh,
  rollApiPassword,
  rollUiCredentials,
  setupController,
  waitForMesh,
} from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

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

describe('secrets never leak from a failing run of the macros', () => {
  const URL_PASSWORD = 'UrlPw-SECRET-31c7';
  const API_PASSWORD = 'ApiPw-SECRET-8e20';
  const NEW_API_PASSWORD = 'NewApiPw-SECRET-c4d1';
  const UI_PASSWORD = 'UiPw-SECRET-5a6b';
  const HA_PASSWORD = 'HaPw-SECRET-77f0';
  const ENV_SECRET = 'Env-SECRET-0d9e';
  const KEYSET = 'KeysetTok-SECRET-2f11';
  const LICENSE_TEXT = 'LicenseText-SECRET-9b3c\n'.repeat(8);
  const ALL = [URL_PASSWORD, API_PASSWORD, NEW_API_PASSWORD, UI_PASSWORD, HA_PASSWORD, ENV_SECRET, KEYSET, 'LicenseText-SECRET-9b3c'];
  let mesh: TestMesh;

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2, password: API_PASSWORD, client: { timeoutMs: 500, retry: false } });
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('every error and event of every macro, with distinctive secrets everywhere, shows none of them', async () => {
    const seen: unknown[] = [];
    const onEvent = (e: Vns3Event): void => void seen.push(e);
    const attempt = async (work: () => unknown): Promise<void> => {
      try {
        const result = await work();
        seen.push(result);
      } catch (error) {
        seen.push(error);
      }
    };
    const [a, b] = mesh.clients as [Vns3Client, Vns3Client];
    const retryBudget = { attempts: 2, minDelayMs: 1 };
    // Every request fails: 503 or a dropped connection, so every macro ends in its error path.
    for (let i = 0; i < 2; i++) mesh.sim.setFaults(i, { errorRate: 0.6, dropRate: 0.4 });
    try {
      await attempt(() => createClient({ host: `https://api:${URL_PASSWORD}@127.0.0.1:1`, password: API_PASSWORD }));
      await attempt(() => createClient({ host: `api:${URL_PASSWORD}@127.0.0.1`, password: API_PASSWORD }));
      await attempt(() => connectControllers([`https://api:${URL_PASSWORD}@ctl.example:8000`], { password: API_PASSWORD }));
      await attempt(() => createClient({ host: '127.0.0.1:1', password: `${API_PASSWORD}\n` }));
      await attempt(() => setupController(a, { license: LICENSE_TEXT, keysetToken: KEYSET }, { onEvent, retryBudget, intervalMs: 5 }));
      await attempt(() => setupController(a, { license: { file: LICENSE_TEXT }, keysetToken: KEYSET }, { onEvent }));
      await attempt(() => licenseControllers(mesh.clients, LICENSE_TEXT, { onEvent, retryBudget }));
      await attempt(() => fetchKeysets([b], { source: '10.0.0.1', token: KEYSET }, { onEvent, retryBudget, timeoutMs: 500 }));
      await attempt(() => fetchKeysets([b], { source: '10.0.0.1', token: `${KEYSET}\n` }, { onEvent }));
      await attempt(() => rollApiPassword(mesh.clients, NEW_API_PASSWORD, { onEvent }));
      await attempt(() => rollApiPassword(mesh.clients, `${NEW_API_PASSWORD}\0`, { onEvent }));
      await attempt(() => rollUiCredentials(mesh.clients, { username: 'admin', password: UI_PASSWORD }, { onEvent }));
      await attempt(() => ensureContainer(a, { name: 'p', image: 'i', command: '', environment: { PW: ENV_SECRET } }, { onEvent, retryBudget }));
      await attempt(() => ensureContainer(a, { name: 'p', image: 'i', command: '', environment: { PW: `${ENV_SECRET}\n` } }, { onEvent }));
      await attempt(() =>
        deployHaPlugin(
          { primary: a, secondary: b, cloud: 'overlay', primaryApiPassword: HA_PASSWORD, secondaryApiPassword: HA_PASSWORD, image: { name: 'ha', url: 'https://example.com/ha.tgz' }, extraEnv: { X: ENV_SECRET } },
          { onEvent, retryBudget },
        ),
      );
      await attempt(() => deployHaPlugin({ primary: a, secondary: b, cloud: 'overlay', primaryApiPassword: `${HA_PASSWORD}\0`, secondaryApiPassword: HA_PASSWORD, image: { name: 'ha', url: 'https://example.com/ha.tgz' } }));
      await attempt(() => peerMesh(mesh.clients, { onEvent, retryBudget }));
      await attempt(() => waitForMesh(mesh.clients, { onEvent, timeoutMs: 300, intervalMs: 10 }));
    } finally {
      mesh.sim.clearFaults();
    }
    const failedBulk = seen.filter((s) => s !== null && typeof s === 'object' && Array.isArray((s as { failed?: unknown }).failed) && (s as { failed: unknown[] }).failed.length > 0);
    // Every call failed: by throwing, or (the bulk macros) with every failure inside the result.
    expect(seen.filter((s) => s instanceof Error).length + failedBulk.length).toBe(18);
    expect(seen.filter((s) => s !== null && typeof s === 'object' && 'step' in s).length).toBeGreaterThan(20);
    for (const value of seen) {
      for (const text of renderings(value)) for (const secret of ALL) expect(text).not.toContain(secret);
    }
    // The license text given as a path is refused without being echoed; the URL host names the host only.
    const urlError = seen.find((s) => s instanceof Vns3ValidationError && s.message.includes('ctl.example')) as Error | undefined;
    expect(urlError?.message).toContain('[redacted]@ctl.example');
  }, 120_000);
});

describe('secrets never leak from the HA command', () => {
  const BIN = fileURLToPath(new URL('../../bin/vns3-ha.js', import.meta.url));
  const SECRET_VALUES = ['UrlPw-SECRET-a1', 'UrlPw-SECRET-b2', 'MyPw-SECRET-c3', 'PeerPw-SECRET-d4'];

  function runHa(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, '--once'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.stdout.on('data', (d: Buffer) => (output += d));
      child.stderr.on('data', (d: Buffer) => (output += d));
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(kill);
        resolve({ code, output });
      });
    });
  }

  const base = {
    HAENV_MODE: 'secondary',
    HAENV_CLOUD: 'overlay',
    HAENV_PEER_PUBLIC_IP: '10.0.0.1',
    HAENV_MY_UNDERLAY_IP: '10.0.0.2',
    HAENV_PEER_UNDERLAY_IP: '10.0.0.1',
    HAENV_PEER_OVERLAY_IP: '100.127.255.1',
    HAENV_MY_API_PASSWORD: SECRET_VALUES[2]!,
    HAENV_PEER_API_PASSWORD: SECRET_VALUES[3]!,
    HAENV_CHECK_INTERVAL: '0.1',
    // cloud: overlay needs a third party to break ties; its password is one of the secrets too.
    HAENV_OBSERVERS: JSON.stringify([{ name: 'observer', underlay_ip: '10.0.0.3', api_password: SECRET_VALUES[2] }]),
  };

  it('passwords inside API URLs and API passwords appear in no log line, on a config error or a connection failure', async () => {
    const withUrlPasswords = await runHa({ ...base, HAENV_MY_API_URL: `https://api:${SECRET_VALUES[0]}@127.0.0.1:1`, HAENV_PEER_API_URL: `https://api:${SECRET_VALUES[1]}@127.0.0.1:2` });
    expect(withUrlPasswords.output).toMatch(/ha\.config/);
    expect(withUrlPasswords.output).toContain('[redacted]@127.0.0.1');
    const unreachable = await runHa({ ...base, HAENV_MY_API_URL: `https://127.0.0.1:${await freePort()}`, HAENV_PEER_API_URL: `https://127.0.0.1:${await freePort()}`, HAENV_INSECURE: 'true' });
    expect(unreachable.output.length).toBeGreaterThan(0);
    for (const r of [withUrlPasswords, unreachable]) for (const secret of SECRET_VALUES) expect(r.output).not.toContain(secret);
  }, 90_000);
});
