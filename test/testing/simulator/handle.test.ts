import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../../src/abort.js';
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

  it('printing or inspecting a controller or the simulator never shows a password, API token or keyset token', async () => {
    const ctl = sim.controllers[0]!;
    const client = ctl.connect({ retry: false });
    try {
      // Give it a keyset token too: license, accept (reboot), generate.
      await client.put('/license', { body: sim.license() });
      await client.put('/license/parameters', { body: { default: true } });
      let licensed = false;
      for (let i = 0; i < 200 && !licensed; i++) {
        licensed = await client.get('/config').then((c) => c.licensed === true, () => false);
        if (!licensed) await sleep(25);
      }
      expect(licensed).toBe(true);
      await client.put('/keyset', { body: { token: 'keyset-token-never-shown' } });
      const secrets = [ctl.password, ctl.apiToken, 'keyset-token-never-shown'];
      const printed = [
        inspect(ctl),
        inspect(ctl, { depth: Infinity, showHidden: true, getters: true }),
        inspect(sim, { depth: Infinity, showHidden: true }),
        inspect(sim.controllers, { depth: Infinity }),
        JSON.stringify(ctl),
        String(ctl),
      ];
      for (const text of printed) for (const secret of secrets) expect(text).not.toContain(secret);
      expect(inspect(ctl)).toContain(ctl.name);
      expect(inspect(ctl)).toContain(ctl.host);
      // The secrets stay readable where they are meant to be: connect() logs in with them.
      const fresh = ctl.connect({ retry: false });
      try {
        expect((await fresh.get('/config')).licensed).toBe(true);
      } finally {
        await fresh.close();
      }
    } finally {
      await client.close();
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
