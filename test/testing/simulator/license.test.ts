import { Client, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Vns3ApiError, Vns3ConnectionError } from '../../../src/client/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf, failureOf, waitFor } from './steps.js';

const basic = (password: string): string => `Basic ${Buffer.from(`api:${password}`).toString('base64')}`;

describe('simulator: licensing and the reboot that follows', () => {
  let mesh: TestMesh | undefined;
  afterEach(async () => {
    await mesh?.stop();
    mesh = undefined;
  });

  it('answers the exact unlicensed errors, refuses bad and second uploads', async () => {
    mesh = await startTestMesh({ controllers: 1 });
    const [client] = mesh.clients;
    const config = await client!.get('/config');
    expect(config.licensed).toBe(false);
    expect(config.private_ipaddress).toBe(mesh.sim.controllers[0]!.identity.privateIp);

    const noLicense = await apiErrorOf(client!.get('/license'));
    expect(noLicense.apiMessage).toBe('Must be licensed first.');

    const bad = await apiErrorOf(client!.put('/license', { body: 'this is not a license' }));
    expect(bad.status).toBe(400);
    const edited = mesh.sim.license().replace(/Signature: ([0-9a-f])/, (_m, c: string) => `Signature: ${c === '0' ? '1' : '0'}`);
    expect((await apiErrorOf(client!.put('/license', { body: edited }))).status).toBe(400);

    const uploaded = await client!.put('/license', { body: mesh.sim.license({ controllers: 3 }) });
    expect(uploaded.finalized).toBe(false);
    const shown = await client!.get('/license');
    expect(shown.finalized).toBe(false);
    expect(shown.license_present).toBe(true);
    // Until accepted, the same controller takes a replacement.
    await client!.put('/license', { body: mesh.sim.license({ controllers: 3 }) });
  });

  it('drops the listener and pooled connections, then answers 502/503, then comes back licensed', async () => {
    mesh = await startTestMesh({ controllers: 1, timings: { rebootOutageMs: 400, reboot5xxMs: 300 } });
    const sim = mesh.sim.controllers[0]!;
    const client = mesh.clients[0]!;
    await client.put('/license', { body: mesh.sim.license() });

    // One pooled keep-alive connection, outside our client: the reboot must cut it.
    const raw = new Client(`https://${sim.host}`, { connect: { ca: sim.certificate }, pipelining: 1, keepAliveTimeout: 30_000 });
    let connects = 0;
    let disconnects = 0;
    raw.on('connect', () => connects++);
    raw.on('disconnect', () => disconnects++);
    try {
      const before = await undiciFetch(`${sim.url}/config`, { dispatcher: raw, headers: { authorization: basic(sim.password) } });
      expect(before.status).toBe(200);
      await before.json();
      expect(connects).toBe(1);
      const accepted = await undiciFetch(`${sim.url}/license/parameters`, {
        dispatcher: raw,
        method: 'PUT',
        headers: { authorization: basic(sim.password), 'content-type': 'application/json' },
        body: JSON.stringify({ default: true }),
      });
      expect(accepted.status).toBe(200);
      expect(((await accepted.json()) as { response: { finalized: boolean } }).response.finalized).toBe(true);
      expect(connects).toBe(1); // both requests went over the same pooled connection

      // The pooled connection is gone and nothing listens: a connection-level failure, not HTTP.
      const cut = await failureOf(undiciFetch(`${sim.url}/config`, { dispatcher: raw, headers: { authorization: basic(sim.password) } }));
      expect(cut).toBeInstanceOf(TypeError);
      const code = ((cut as Error).cause as { code?: string } | undefined)?.code;
      expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(code);
      expect(disconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await raw.destroy();
    }

    // Retries off: we see each phase as it is.
    const bare = sim.connect({ retry: false, timeoutMs: 2_000 });
    try {
      const down = await failureOf(bare.get('/config'));
      expect(down).toBeInstanceOf(Vns3ConnectionError);
      const phases: string[] = [];
      const final = await waitFor(
        'the API back after the reboot',
        async () => {
          try {
            const c = await bare.get('/config');
            phases.push('up');
            return c;
          } catch (err) {
            phases.push(err instanceof Vns3ApiError ? String(err.status) : 'down');
            throw err;
          }
        },
        (c) => c.licensed === true,
        { timeoutMs: 5_000, intervalMs: 15 },
      );
      expect(final.licensed).toBe(true);
      const firstGateway = phases.findIndex((p) => p === '502' || p === '503');
      expect(firstGateway).toBeGreaterThanOrEqual(0);
      // Never down again once the web front answers, and never up before it did.
      expect(phases.slice(firstGateway).includes('down')).toBe(false);
      expect(phases.indexOf('up')).toBeGreaterThan(firstGateway);
    } finally {
      await bare.close();
    }

    const second = await apiErrorOf(client.put('/license', { body: mesh.sim.license() }));
    expect(second.status).toBe(400);
    expect(second.apiMessage).toMatch(/already/i);
    const again = await apiErrorOf(client.put('/license/parameters', { body: { default: true } }));
    expect(again.status).toBe(400);
    const license = await client.get('/license');
    expect(license.finalized).toBe(true);
  });

  it('sim.license() is accepted with the requested terms; an edited text is refused', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    const text = mesh.sim.license({ controllers: 5, clients: 20 });
    const upload = await mesh.clients[0]!.put('/license', { body: text });
    expect(upload.license).toContain('5 controllers');
    const tampered = text.replace(/^(-----BEGIN[^\n]*\n)(.)/, (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`);
    expect(tampered).not.toBe(text);
    const refused = await apiErrorOf(mesh.clients[1]!.put('/license', { body: tampered }));
    expect(refused.status).toBe(400);
    expect(mesh.sim.controllers[1]!.licensed).toBe(false);
  });
});
