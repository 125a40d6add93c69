import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vns3ValidationError, type RequestEvent } from '../../../src/client/index.js';
import { startSimulator, type Simulator } from '../../../src/testing/index.js';
import { verifyLicense } from '../../../src/testing/simulator/index.js';

describe('simulated controllers hand out pinned clients', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ controllers: 3 });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('connectAll(): one client per controller, in order, each talking to its own controller', async () => {
    const clients = sim.connectAll();
    try {
      expect(clients).toHaveLength(3);
      sim.resetCounters();
      for (const [i, client] of clients.entries()) {
        expect((await client.get('/config')).private_ipaddress).toBe(sim.controllers[i]!.identity.privateIp);
      }
      expect(sim.controllers.map((c) => c.requestLog.length)).toEqual([1, 1, 1]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('connect() passes client options through (onRequest, retry)', async () => {
    const events: RequestEvent[] = [];
    const client = sim.controllers[1]!.connect({ retry: false, onRequest: (e) => events.push(e) });
    try {
      sim.setFaults(1, { errorNext: 1 });
      await expect(client.get('/config')).rejects.toMatchObject({ status: 503 });
      expect(events.map((e) => e.status)).toEqual([503]);
    } finally {
      sim.clearFaults();
      await client.close();
    }
  });

  it('connect() cannot be re-pointed or unpinned through its options', async () => {
    const [own, other] = sim.controllers;
    const options = { host: other!.host, insecure: true, fingerprint256: other!.fingerprint256 } as object;
    const client = own!.connect(options);
    try {
      sim.resetCounters();
      await client.get('/config');
      expect([own!.requestLog.length, other!.requestLog.length]).toEqual([1, 0]);
    } finally {
      await client.close();
    }
  });

  it('connect() logs in with the current password, after a roll too', async () => {
    const ctl = sim.controllers[2]!;
    const before = ctl.connect();
    try {
      await before.put('/api_password', { body: { password: 'r0lled-Passw0rd' } });
    } finally {
      await before.close();
    }
    const after = ctl.connect({ retry: false });
    try {
      expect((await after.get('/config')).licensed).toBe(false);
    } finally {
      await after.close();
    }
  });

  it('bad references and counts are validation errors naming the field', async () => {
    expect(() => sim.controller('no-such-controller')).toThrow(Vns3ValidationError);
    expect(() => sim.controller(7)).toThrow(/Invalid ref/);
    await expect(startSimulator({ controllers: 0 })).rejects.toThrow(Vns3ValidationError);
    await expect(startSimulator({ scale: -1 })).rejects.toThrow(/Invalid scale/);
  });

  it('license() covers every controller unless told otherwise, also when given undefined', () => {
    expect(verifyLicense(sim.license())?.controllers).toBe(3);
    expect(verifyLicense(sim.license({ controllers: undefined }))?.controllers).toBe(3);
    expect(verifyLicense(sim.license({ controllers: 5 }))?.controllers).toBe(5);
  });
});
