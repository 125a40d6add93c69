/**
 * Fidelity check: an outside automation that knows only the public VNS3 API reference (paths,
 * bodies, the `response` envelope, the reboot and keyset behaviour) builds a peering mesh against
 * the simulator. Nothing from src/client or src/macros is used here, on purpose: if the simulator
 * only worked with our own client, this would catch it.
 */
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/testing/simulator/index.js';
import { sleep } from '../../../src/abort.js';

interface Target {
  base: string;
  auth: string;
}

class Down extends Error {}

describe('an independent client builds a 3-controller mesh', () => {
  let sim: Simulator;
  let agent: Agent;
  let targets: Target[];
  beforeAll(async () => {
    sim = await startSimulator({ controllers: 3 });
    agent = new Agent({ connect: { ca: sim.controllers.map((c) => c.certificate) } });
    targets = sim.controllers.map((c) => ({ base: c.url, auth: `Basic ${Buffer.from(`api:${c.password}`).toString('base64')}` }));
  });
  afterAll(async () => {
    await agent?.close();
    await sim?.stop();
  });

  /** One call as any script would make it; `Down` when the box is not answering the API. */
  async function call(t: Target, method: string, path: string, body?: unknown): Promise<any> {
    let res;
    try {
      res = await fetch(`${t.base}${path}`, {
        dispatcher: agent,
        method,
        headers: {
          authorization: t.auth,
          'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
          accept: 'application/json',
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        signal: AbortSignal.timeout(3_000),
      });
    } catch (err) {
      throw new Down(`connection failed: ${String((err as Error).cause ?? err)}`);
    }
    const text = await res.text();
    if (res.status === 502 || res.status === 503) throw new Down(`HTTP ${res.status}`);
    const json = JSON.parse(text);
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${json.error?.message}`);
    return json.response;
  }

  /** Polls until `check` holds, riding over reboots; bounded in time. */
  async function poll<T>(what: string, fn: () => Promise<T>, check: (v: T) => boolean, seen?: { down: number }): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const v = await fn();
        if (check(v)) return v;
      } catch (err) {
        if (!(err instanceof Down)) throw err;
        if (seen) seen.down++;
      }
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await sleep(25);
    }
  }

  it('licenses, keys, peers and sees every link reachable', async () => {
    const [root, ...others] = targets as [Target, ...Target[]];
    const license = sim.license({ controllers: 3 });

    await call(root, 'PUT', '/license', license);
    const accepted = await call(root, 'PUT', '/license/parameters', { default: true });
    expect(accepted.finalized).toBe(true);
    const rootReboot = { down: 0 };
    await poll('root licensed', () => call(root, 'GET', '/config'), (c) => c.licensed === true, rootReboot);
    expect(rootReboot.down).toBeGreaterThan(0);

    await call(root, 'PUT', '/keyset', { token: 'independent' });
    const rootKeyset = await poll('root keyset', () => call(root, 'GET', '/keyset'), (k) => k.keyset_present === true);

    const rootIp = (await call(root, 'GET', '/config')).private_ipaddress as string;
    await Promise.all(
      others.map(async (peer) => {
        const first = await call(peer, 'PUT', '/keyset', { token: 'independent', source: rootIp });
        // The documented way to detect a fetch that failed at once: PUT again. An error (still
        // running, or already done) means the first attempt did not fail; a new started_at_i would.
        // A fetch that has ended may already be rebooting the peer: a connection-level failure.
        const again = await call(peer, 'PUT', '/keyset', { token: 'independent', source: rootIp }).catch((e: Error) => e);
        expect(again).toBeInstanceOf(Error);
        if (!(again instanceof Down)) expect((again as Error).message).toMatch(/Keyset setup in progress\.|Keyset already exists\./);
        expect(first.started_at_i).toBeGreaterThan(0);
        const reboot = { down: 0 };
        const keyset = await poll('peer keyset', () => call(peer, 'GET', '/keyset'), (k) => k.keyset_present === true, reboot);
        expect(keyset.checksum).toBe(rootKeyset.checksum);
        await poll('peer licensed after its reboot', () => call(peer, 'GET', '/config'), (c) => c.licensed === true, reboot);
        expect(reboot.down).toBeGreaterThan(0);
      }),
    );

    const ips = await Promise.all(targets.map(async (t) => (await call(t, 'GET', '/config')).private_ipaddress as string));
    for (const [i, t] of targets.entries()) await call(t, 'PUT', '/peering/self', { id: i + 1 });
    for (const [i, t] of targets.entries()) {
      for (const [j, ip] of ips.entries()) if (i !== j) await call(t, 'POST', '/peering/peers', { id: j + 1, name: ip });
    }
    for (const t of targets) {
      const peering = await poll(
        'all links reachable',
        () => call(t, 'GET', '/peering'),
        (p) => Object.values(p.managers as Record<string, { self?: boolean; reachable?: boolean }>).every((m) => m.self || m.reachable),
      );
      expect(Object.keys(peering.managers)).toEqual(['1', '2', '3']);
    }
  });
});
