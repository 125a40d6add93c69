import { connect } from 'node:net';
import { Client, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOutcomeUnknown, Vns3ApiError, Vns3ConnectionError, Vns3TimeoutError, type Vns3Client } from '../../../src/client/index.js';
import { startSimulator, type RequestLogEntry } from '../../../src/testing/simulator/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { failureOf, waitFor } from './steps.js';
import { sleep } from '../../../src/abort.js';

/** Whether a TCP connection to the port is refused (nothing listens). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

describe('simulator: fault injection, request log, write counts', () => {
  let mesh: TestMesh;
  let bare: Vns3Client;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 1 });
    const ctl = mesh.sim.controllers[0]!;
    bare = ctl.connect({ retry: false, timeoutMs: 2_000 });
  });
  afterAll(async () => {
    await bare?.close();
    await mesh?.stop();
  });
  const lastStatus = () => mesh.sim.controllers[0]!.requestLog.at(-1)?.status;

  it('latency delays replies (cut by a shorter client timeout); clearFaults removes it', async () => {
    const log = mesh.sim.controllers[0]!.requestLog;
    const before = log.length;
    mesh.sim.setFaults(0, { latencyMs: 400 });
    const slow = await failureOf(bare.get('/config', { timeoutMs: 100 }));
    expect(slow).toBeInstanceOf(Vns3TimeoutError);
    // The simulator finishes the abandoned request after its latency; let it, so later logs are clean.
    await waitFor('the slow request to be logged', async () => log.length, (n) => n > before, { timeoutMs: 3_000 });
    mesh.sim.clearFaults(0);
    expect((await bare.get('/config', { timeoutMs: 2_000 })).licensed).toBe(false);
  });

  it('dropNext, errorNext and hangNext hit the next requests only', async () => {
    mesh.sim.setFaults(0, { dropNext: 1 });
    expect(await failureOf(bare.get('/config'))).toBeInstanceOf(Vns3ConnectionError);
    expect(lastStatus()).toBe('dropped');
    expect((await bare.get('/config')).licensed).toBe(false);

    mesh.sim.setFaults(0, { errorNext: 1 });
    const err = await failureOf(bare.get('/config'));
    expect(err).toBeInstanceOf(Vns3ApiError);
    expect((err as Vns3ApiError).status).toBe(503);
    expect(lastStatus()).toBe(503);

    mesh.sim.setFaults(0, { hangNext: 1 });
    expect(await failureOf(bare.get('/config', { timeoutMs: 150 }))).toBeInstanceOf(Vns3TimeoutError);
    expect(lastStatus()).toBe('hung');

    // A retrying client rides over one drop and one 503.
    mesh.sim.setFaults(0, { dropNext: 1, errorNext: 1 });
    expect((await mesh.clients[0]!.get('/config')).licensed).toBe(false);
    const statuses = mesh.sim.controllers[0]!.requestLog.slice(-3).map((e) => e.status);
    expect(statuses).toEqual(['dropped', 503, 200]);
  });

  it('dropReplyNext applies the write, then cuts the connection where the reply would go', async () => {
    const ctl = mesh.sim.controllers[0]!;
    mesh.sim.setFaults(0, { dropReplyNext: 1 });
    const writes = ctl.writes;
    const lost = await failureOf(bare.post('/routes', { body: { cidr: '192.168.77.0/24', gateway: '10.1.1.1' } }));
    expect(lost).toBeInstanceOf(Vns3ConnectionError);
    expect(isOutcomeUnknown(lost)).toBe(true);
    expect(lastStatus()).toBe('reply-dropped');
    expect(ctl.writes).toBe(writes + 1);
    // The write happened: a client that re-reads finds it, one that re-sends gets a duplicate refusal.
    const routes = Object.values(await bare.get('/routes')) as { cidr?: string }[];
    expect(routes.filter((r) => r.cidr === '192.168.77.0/24')).toHaveLength(1);
    const again = await failureOf(bare.post('/routes', { body: { cidr: '192.168.77.0/24', gateway: '10.1.1.1' } }));
    expect((again as Vns3ApiError).apiMessage).toBe('Route already exists.');
  });

  it('dropReplyRate strikes after processing, at the given rate, repeatably with a seed', async () => {
    const run = async (): Promise<RequestLogEntry['status'][]> => {
      const sim = await startSimulator({ controllers: 1, seed: 42 });
      const client = sim.controllers[0]!.connect({ retry: false, timeoutMs: 2_000 });
      try {
        sim.setFaults(0, { dropReplyRate: 0.5 });
        for (let i = 0; i < 12; i++) await client.put('/config', { body: { controller_name: `name-${i}` } }).catch(() => undefined);
        const log = sim.controllers[0]!.requestLog.map((e) => e.status);
        // Every request was applied: the name is the last one sent, whatever the replies did.
        sim.clearFaults();
        expect((await client.get('/config')).controller_name).toBe('name-11');
        return log;
      } finally {
        await client.close();
        await sim.stop();
      }
    };
    const first = await run();
    expect(first).toContain('reply-dropped');
    expect(first).toContain(200);
    expect(await run()).toEqual(first);
  });

  it('the request log keeps the newest requestLogLimit entries; writes keep counting', async () => {
    await expect(startSimulator({ controllers: 1, requestLogLimit: 0 })).rejects.toThrow(/Invalid requestLogLimit/);
    const sim = await startSimulator({ controllers: 1, requestLogLimit: 5 });
    const client = sim.controllers[0]!.connect({ retry: false });
    try {
      for (let i = 0; i < 12; i++) await client.put('/config', { body: { controller_name: `n${i}` } });
      await client.get('/routes');
      const log = sim.controllers[0]!.requestLog;
      expect(log).toHaveLength(5);
      expect(log.at(-1)?.path).toBe('/api/routes');
      expect(sim.controllers[0]!.writes).toBe(12);
    } finally {
      await client.close();
      await sim.stop();
    }
  });

  it('crash refuses connections until restore; reboot goes down and comes back', async () => {
    const ctl = mesh.sim.controllers[0]!;
    await mesh.sim.crash(0);
    const down = await failureOf(bare.get('/config'));
    expect(down).toBeInstanceOf(Vns3ConnectionError);
    expect(await refused(ctl.port)).toBe(true);
    await mesh.sim.restore(0);
    expect((await bare.get('/config')).licensed).toBe(false);

    await mesh.sim.reboot(0);
    expect(await failureOf(bare.get('/config'))).toBeInstanceOf(Vns3ConnectionError);
    await waitFor('back after reboot', () => bare.get('/config'), () => true);
  });

  it('counts writes (a GET adds none, a POST one) and logs requests', async () => {
    mesh.sim.resetCounters();
    const ctl = mesh.sim.controllers[0]!;
    expect(ctl.requestLog).toHaveLength(0);
    await bare.get('/routes');
    expect(ctl.writes).toBe(0);
    expect(mesh.sim.totalWrites()).toBe(0);
    await bare.post('/routes', { body: { cidr: '192.168.50.0/24' } });
    expect(ctl.writes).toBe(1);
    expect(mesh.sim.totalWrites()).toBe(1);
    expect(ctl.requestLog.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(['GET /api/routes 200', 'POST /api/routes 200']);
  });
});

describe('simulator: stop()', () => {
  it('closes listeners and hung sockets', async () => {
    const sim = await startSimulator({ controllers: 2 });
    const ctl = sim.controllers[1]!;
    const port = ctl.port;
    const raw = new Client(`https://${ctl.host}`, { connect: { ca: ctl.certificate }, headersTimeout: 10_000 });
    try {
      sim.setFaults(1, { hangNext: 1 });
      const hung = undiciFetch(`${ctl.url}/config`, {
        dispatcher: raw,
        headers: { authorization: `Basic ${Buffer.from(`api:${ctl.password}`).toString('base64')}` },
      }).then(
        () => 'answered',
        () => 'closed',
      );
      await waitFor('the request to reach the simulator', async () => ctl.requestLog.length, (n) => n > 0, { timeoutMs: 2_000 });
      await sim.stop();
      // Bounded: if stop() left the socket open, this resolves as 'still hanging' and fails.
      const outcome = await Promise.race([hung, sleep(3_000).then(() => 'still hanging')]);
      expect(outcome).toBe('closed');
      expect(await refused(port)).toBe(true);
      expect(await refused(sim.controllers[0]!.port)).toBe(true);
    } finally {
      await raw.destroy();
      await sim.stop();
    }
  });
});
