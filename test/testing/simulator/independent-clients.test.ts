/**
 * The simulator driven the way clients written by others drive a controller (VNS3_BEHAVIOUR.md,
 * "What clients written by others rely on"): plain `undici` requests, nothing from src/client or
 * src/macros. The keyset is fetched as the official Python SDK does it (a duplicate `PUT /keyset`
 * every 2 s, then at once a `GET /keyset`), optional fields go as `null` as generated clients send
 * them, booleans as the strings older VNS3 versions required, `show_all` in its spellings. Each
 * profile a user runs `vns3-sim` with must pass.
 */
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/testing/simulator/index.js';
import { sleep } from '../../../src/abort.js';

/** The connection failed (refused, reset): the controller is rebooting. */
class ConnectionFailed extends Error {}

/** An HTTP answer other than 200. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly apiMessage: string | undefined,
  ) {
    super(`HTTP ${status}: ${apiMessage ?? '(no error envelope)'}`);
  }
}

interface Target {
  base: string;
  auth: string;
}

/** The orderings a polling client accepts after its fetch ends (item 1 of issue 10). */
const ALLOWED_ORDERINGS = ['put-failed-rebooting', 'exists-then-keyset', 'exists-then-must-be-licensed-then-reboot'];

describe.each(['fast', 'standard'] as const)('a third-party client against the %s profile', (profile) => {
  let sim: Simulator;
  let agent: Agent;
  let root: Target;
  let peer: Target;

  beforeAll(async () => {
    sim = await startSimulator({ controllers: 2, profile });
    agent = new Agent({ connect: { ca: sim.controllers.map((c) => c.certificate) } });
    [root, peer] = sim.controllers.map((c) => ({ base: c.url, auth: `Basic ${Buffer.from(`api:${c.password}`).toString('base64')}` })) as [Target, Target];
  });
  afterAll(async () => {
    await agent?.close();
    await sim?.stop();
  });

  /** One request; the raw status and parsed body, or `ConnectionFailed`. */
  async function send(t: Target, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    let res;
    try {
      res = await fetch(`${t.base}${path}`, {
        dispatcher: agent,
        method,
        headers: { authorization: t.auth, 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
    } catch (err) {
      throw new ConnectionFailed(String((err as Error).cause ?? err));
    }
    const text = await res.text();
    return { status: res.status, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  }

  /** The `response` of a 200, or `HttpError` / `ConnectionFailed`. */
  async function api(t: Target, method: string, path: string, body?: unknown): Promise<any> {
    const { status, json } = await send(t, method, path, body);
    if (status !== 200) throw new HttpError(status, json?.error?.message);
    expect(json).not.toHaveProperty('error');
    return json.response;
  }

  /** Waits out a reboot the way such clients do: poll until the API answers 200 (bounded). */
  async function waitUp(t: Target, check: (config: any) => boolean = () => true): Promise<{ down: number }> {
    const seen = { down: 0 };
    for (let i = 0; i < 400; i++) {
      try {
        if (check(await api(t, 'GET', '/config'))) return seen;
      } catch (err) {
        if (!(err instanceof ConnectionFailed) && !(err instanceof HttpError && (err.status === 502 || err.status === 503))) throw err;
        seen.down++;
      }
      await sleep(100);
    }
    throw new Error('the controller did not come back');
  }

  /** The Python SDK's fetch loop: duplicate PUT every 2 s, then at once GET; returns the ordering seen. */
  async function fetchLikeThePythonSdk(source: string): Promise<string> {
    await api(peer, 'PUT', '/keyset', { source, token: 'third-party' });
    for (let i = 0; i < 30; i++) {
      await sleep(2_000);
      try {
        await api(peer, 'PUT', '/keyset', { source, token: 'third-party' });
        throw new Error('a duplicate PUT /keyset succeeded');
      } catch (err) {
        if (err instanceof ConnectionFailed || (err instanceof HttpError && (err.status === 502 || err.status === 503))) {
          await waitUp(peer);
          return 'put-failed-rebooting';
        }
        if (!(err instanceof HttpError)) throw err;
        if (err.apiMessage === 'Keyset setup in progress.') continue;
        expect(err.apiMessage).toBe('Keyset already exists.');
      }
      // The very next GET /keyset must answer; a refused connection here is what broke clients.
      let keyset;
      try {
        keyset = await api(peer, 'GET', '/keyset');
      } catch (err) {
        if (err instanceof ConnectionFailed) throw new Error('GET /keyset refused right after "Keyset already exists."');
        if (!(err instanceof HttpError) || !err.apiMessage?.includes('must be licensed')) throw err;
        // Then a reboot must follow: the client waits for it as a connection failure.
        const { down } = await waitUp(peer, (c) => c.licensed === true);
        expect(down).toBeGreaterThan(0);
        return 'exists-then-must-be-licensed-then-reboot';
      }
      expect(keyset.keyset_present).toBe(true);
      return 'exists-then-keyset';
    }
    throw new Error('the fetch never ended');
  }

  it('licenses the root, then fetches the keyset on the peer polling with duplicate PUTs every 2 s', async () => {
    await api(root, 'PUT', '/license', sim.license());
    await api(root, 'PUT', '/license/parameters', { default: true });
    expect((await waitUp(root, (c) => c.licensed === true)).down).toBeGreaterThan(0);
    await api(root, 'PUT', '/keyset', { token: 'third-party' });
    let rootKeyset;
    for (let i = 0; i < 200 && !rootKeyset?.keyset_present; i++) {
      await sleep(50);
      rootKeyset = await api(root, 'GET', '/keyset');
    }
    expect(rootKeyset.keyset_present).toBe(true);

    const ordering = await fetchLikeThePythonSdk(sim.controllers[0]!.identity.privateIp);
    expect(ALLOWED_ORDERINGS).toContain(ordering);
    // Whatever the ordering, the client moves on and finds the peer licensed with the root's keyset.
    const config = await api(peer, 'GET', '/config');
    expect(config.licensed).toBe(true);
    expect((await api(peer, 'GET', '/keyset')).checksum).toBe(rootKeyset.checksum);
  });

  it('reads optional fields sent as null as absent, and a required one as missing', async () => {
    const map = await api(root, 'POST', '/routes', {
      cidr: '172.31.50.0/24',
      description: null,
      interface: null,
      gateway: null,
      advertise: null,
      metric: null,
      table: null,
      tunnel: null,
    });
    const route = Object.values(map).find((r: any) => r.cidr === '172.31.50.0/24') as any;
    expect(route).toMatchObject({ interface: '_notset', gateway: '_notset', advertise: false, table: 'main' });
    const config = await api(root, 'PUT', '/config', { topology_name: null, controller_name: 'third-party-name', ntp_hosts: null });
    expect(config.controller_name).toBe('third-party-name');
    const missing = await send(root, 'POST', '/routes', { cidr: null, description: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toContain('cidr');
  });

  it('reads booleans sent as "True"/"False" in any case, and still refuses other strings', async () => {
    await api(root, 'POST', '/routes', { cidr: '172.31.51.0/24', advertise: 'False', gateway: '10.1.1.1' });
    await api(root, 'POST', '/routes', { cidr: '172.31.52.0/24', advertise: 'TRUE', gateway: '10.1.1.1' });
    const routes = Object.values(await api(root, 'GET', '/routes')) as any[];
    expect(routes.find((r) => r.cidr === '172.31.51.0/24')?.advertise).toBe(false);
    expect(routes.find((r) => r.cidr === '172.31.52.0/24')?.advertise).toBe(true);
    const bad = await send(root, 'POST', '/routes', { cidr: '172.31.53.0/24', advertise: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('advertise');
  });

  it('lists stopped containers unless show_all is false, in any spelling; DELETE stops and deletes a running one', async () => {
    const image = await api(root, 'POST', '/container_system/images', { name: 'tp-app', url: 'https://images.example.com/tp.tgz', description: null, buildurl: null });
    for (let i = 0; i < 200 && (await api(root, 'GET', `/container_system/images?uuid=${image.import_uuid}`)).images[0]?.status !== 'Ready'; i++) await sleep(50);
    const start = (name: string) => api(root, 'POST', '/container_system/containers', { image_uuid: image.import_uuid, name, command: '/run', environment: null, ipaddress: null, description: null });
    const stopped = await start('tp-stopped');
    const running = await start('tp-running');
    await api(root, 'PUT', `/container_system/containers/${stopped.uuid}`);
    const ids = async (query: string) => ((await api(root, 'GET', `/container_system/containers${query}`)).containers as any[]).map((c) => c.Id).sort();
    const both = [stopped.uuid, running.uuid].sort();
    for (const query of ['', '?show_all=true', '?show_all=True', '?show_all=TRUE', '?show_all=1']) expect(await ids(query)).toEqual(both);
    for (const query of ['?show_all=false', '?show_all=False']) expect(await ids(query)).toEqual([running.uuid]);

    const deleted = await api(root, 'DELETE', `/container_system/containers/${running.uuid}`);
    expect(deleted.container_deleted).toBe(true);
    expect(await ids('')).toEqual([stopped.uuid]);
  });

  it('after PUT /admin_ui answers 502 while the API resets itself, never 503', async () => {
    await api(root, 'PUT', '/admin_ui', { enabled: 'True', admin_username: 'tp-admin', admin_password: 'tp-ui-secret' });
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const { status } = await send(root, 'GET', '/config');
      statuses.push(status);
      if (status === 200) break;
      await sleep(20);
    }
    expect(statuses.at(-1)).toBe(200);
    expect(statuses).not.toContain(503);
  });

  it('answers the statuses the reference lists: 400 for a bad or unknown route id or peer, 400 for a malformed path', async () => {
    expect((await send(root, 'DELETE', '/routes/987654')).status).toBe(400);
    expect((await send(root, 'PUT', '/routes/987654/enable')).status).toBe(400);
    expect((await send(root, 'DELETE', '/routes/%E0%A4%A')).status).toBe(400);
    expect((await send(peer, 'DELETE', '/peering/peers/2')).status).toBe(400);
    expect((await send(root, 'DELETE', '/container_system/images/%zz')).status).toBe(400);
  });
});
