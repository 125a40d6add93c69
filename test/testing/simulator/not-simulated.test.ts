import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ApiError, createClient, type Vns3Client } from '../../../src/client/index.js';
import {
  NOT_SIMULATED_NAME,
  NOT_SIMULATED_STATUS,
  simulatedOperations,
  specValidator,
  startSimulator,
  type Simulator,
} from '../../../src/testing/simulator/index.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function failureOf(call: Promise<unknown>): Promise<Vns3ApiError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (err: unknown) => ({ err }),
  );
  if (!('err' in outcome)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.err).toBeInstanceOf(Vns3ApiError);
  return outcome.err as Vns3ApiError;
}

describe('simulator: operations of the spec it does not simulate', () => {
  let sim: Simulator;
  let client: Vns3Client;
  beforeAll(async () => {
    // validateResponses on: the 501 must reach the client as sent, not become a 500 SpecViolation.
    sim = await startSimulator({ controllers: 1, validateResponses: true });
    client = sim.controllers[0]!.connect();
  });
  afterAll(async () => {
    await client?.close();
    await sim?.stop();
  });

  it('answers 501 NotSimulated in the error envelope, naming the operation and the SDK version', async () => {
    const err = await failureOf(client.get('/system/ssl'));
    expect(err.status).toBe(NOT_SIMULATED_STATUS);
    expect(err.status).toBe(501);
    expect(err.errorName).toBe(NOT_SIMULATED_NAME);
    expect(err.errorName).toBe('NotSimulated');
    expect(err.apiMessage).toBe(`GET /system/ssl is not simulated by vns3-sim (vns3-sdk ${version}); see README 'API coverage'`);
  });

  it('names the path template, not the request path, and is not retried', async () => {
    sim.resetCounters();
    const err = await failureOf(client.get('/plugins/{id}', { params: { path: { id: 7 } } }));
    expect(err.apiMessage).toMatch(/^GET \/plugins\/\{id\} is not simulated by vns3-sim/);
    expect(sim.controllers[0]!.requestLog.map((r) => [r.method, r.path, r.status])).toEqual([['GET', '/api/plugins/7', 501]]);
  });

  it('checks credentials and the request body first, as for any operation', async () => {
    const bad = await failureOf(client.post('/ms', { body: {} as { ip: string } }));
    expect(bad.status).toBe(400);
    expect(bad.apiMessage).toContain("'ip'");
    const good = await failureOf(client.post('/ms', { body: { ip: '192.0.2.10' } }));
    expect(good.status).toBe(501);
    expect(good.apiMessage).toMatch(/^POST \/ms is not simulated/);
    const ctl = sim.controllers[0]!;
    const stranger = createClient({ host: ctl.host, password: 'not-the-password', fingerprint256: ctl.fingerprint256 });
    try {
      const denied = await failureOf(stranger.get('/system/ssl'));
      expect(denied.status).toBe(401);
    } finally {
      await stranger.close();
    }
  });

  it('simulates only operations of the spec (a handler key that matches none is a typo)', () => {
    const specKeys = new Set(specValidator().operations.map((op) => `${op.method} ${op.template}`));
    const simulated = simulatedOperations();
    expect(simulated.length).toBeGreaterThan(30);
    expect(simulated.filter((key) => !specKeys.has(key))).toEqual([]);
    expect(simulated).not.toContain('GET /system/ssl');
  });
});
