import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../../src/client/errors.js';
import { startSimulator, type Simulator } from '../../../src/testing/simulator/index.js';
import { checkConnectivity, connectControllers } from '../../../src/macros/index.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ controllers: 3, password: 'common-Secret-pw' });
});
afterAll(() => sim.stop());

describe('connectControllers', () => {
  it('merges per-host options over common ones and the clients work', async () => {
    const [a, b, c] = sim.controllers;
    const clients = connectControllers(
      [
        { host: a!.host, fingerprint256: a!.fingerprint256 },
        { host: `https://${b!.host}`, ca: b!.certificate },
        { host: c!.host, fingerprint256: c!.fingerprint256, apiToken: c!.apiToken, password: undefined },
      ],
      { password: 'common-Secret-pw', timeoutMs: 5_000 },
    );
    try {
      expect(clients.map((x) => x.host)).toEqual([a!.host, b!.host, c!.host]);
      const r = await checkConnectivity(clients);
      expect(r.failed).toEqual([]);
      for (const s of r.succeeded) {
        expect(s.value.vns3Version).toMatch(/^\d+\.\d+/);
        expect(s.value.licensed).toBe(false);
        expect(s.value.latencyMs).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await Promise.all(clients.map((x) => x.close()));
    }
  });

  it('reports a controller that does not answer without hiding the others', async () => {
    const [a, b] = sim.controllers;
    const clients = connectControllers(
      [
        { host: a!.host, fingerprint256: a!.fingerprint256 },
        { host: b!.host, fingerprint256: b!.fingerprint256, password: 'wrong-password' },
      ],
      { password: 'common-Secret-pw', retry: false },
    );
    try {
      const r = await checkConnectivity(clients);
      expect(r.succeeded.map((s) => s.controller)).toEqual([a!.host]);
      expect(r.failed[0]!.controller).toBe(b!.host);
      expect(r.failed[0]!.error.message).toMatch(/401/);
      expect(r.failed[0]!.error.message).not.toContain('wrong-password');
    } finally {
      await Promise.all(clients.map((x) => x.close()));
    }
  });

  it('validates every spec before creating anything, naming the field and index', () => {
    const ok = { host: '127.0.0.1:9', password: 'p' };
    const fail = (f: () => unknown): Vns3ValidationError => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(Vns3ValidationError);
        return e as Vns3ValidationError;
      }
      throw new Error('expected a validation error');
    };
    expect(fail(() => connectControllers([])).field).toBe('specs');
    expect(fail(() => connectControllers([ok, { host: 'ftp://x' }], { password: 'p' })).field).toBe('specs[1].host');
    expect(fail(() => connectControllers([ok, 'bad host:99999'], { password: 'p' })).field).toBe('specs[1].host');
    expect(fail(() => connectControllers(['10.0.0.1'])).field).toBe('specs[0].password');
    const secret = fail(() => connectControllers([{ host: '10.0.0.1', password: '' }]));
    expect(secret.field).toBe('specs[0].password');
    expect(fail(() => connectControllers([ok, { host: '127.0.0.1:9' }], { password: 'p' })).message).toMatch(/same controller as specs\[0\]/);
    expect(fail(() => connectControllers([{ ...ok, fingerprint256: 'zz' }])).field).toBe('specs[0].fingerprint256');
    expect(fail(() => connectControllers([{ ...ok, bogus: 1 } as never])).field).toBe('specs[0].bogus');
  });
});
