/**
 * Every class of bad input is refused with a Vns3ValidationError (field, value, controller) before
 * any write: the simulator counts writes per controller, and each test ends with 0 of them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient, Vns3ValidationError } from '../../src/client/index.js';
import {
  connectControllers,
  createLocalGatewayRoute,
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  deployHaPlugin,
  ensureContainer,
  ensureFirewallPolicy,
  ensureImage,
  ensureRouteTable,
  fetchKeysets,
  peerMesh,
  rollApiPassword,
  rollUiCredentials,
  setPeerIds,
  setupController,
  waitForMesh,
  type RouteSpec,
} from '../../src/macros/index.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

describe('bad input is refused before any write', () => {
  let mesh: TestMesh;
  let host: string;

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
    host = mesh.clients[0]!.host;
  });
  afterAll(async () => {
    await mesh?.stop();
  });
  beforeEach(() => mesh.sim.resetCounters());

  /** Runs the call, expects a Vns3ValidationError on `field`, and no write on any controller. */
  async function refused(call: () => unknown, field: RegExp | string): Promise<Vns3ValidationError> {
    let error: unknown;
    try {
      await call();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Vns3ValidationError);
    const v = error as Vns3ValidationError;
    if (typeof field === 'string') expect(v.field).toBe(field);
    else expect(v.field).toMatch(field);
    for (const c of mesh.sim.controllers) expect(c.writes, `writes on ${c.name}`).toBe(0);
    return v;
  }

  it('peer addresses: IP or DNS name only (a newline in a map address, a URL)', async () => {
    const [a, b] = mesh.clients as [typeof mesh.clients[0], typeof mesh.clients[0]];
    await refused(() => peerMesh(mesh.clients, { address: { [a!.host]: '10.0.0.1\n10.0.0.9', [b!.host]: '10.0.0.2' } }), /^address\[/);
    await refused(() => peerMesh(mesh.clients, { address: { [a!.host]: 'https://10.0.0.1', [b!.host]: '10.0.0.2' } }), /^address\[/);
    await refused(() => fetchKeysets([b!], { source: 'a b', token: 't' }), 'source');
  });

  it('routes: interface, table, gateway, description text, null entries and specs', async () => {
    const c = mesh.clients[0]!;
    const base: RouteSpec = { cidr: '10.9.0.0/16', interface: 'eth0', gateway: '10.0.0.1' };
    await refused(() => ensureRouteTable(c, [{ ...base, interface: 'eth0\nip route flush' }]), 'routes[0].interface');
    await refused(() => ensureRouteTable(c, [{ ...base, interface: 'eth0;reboot' }]), 'routes[0].interface');
    await refused(() => ensureRouteTable(c, [{ ...base, table: 'main\n' }]), 'routes[0].table');
    await refused(() => ensureRouteTable(c, [{ ...base, table: 'a;b' }]), 'routes[0].table');
    await refused(() => ensureRouteTable(c, [{ ...base, gateway: '10.0.0.1; x' }]), 'routes[0].gateway');
    await refused(() => ensureRouteTable(mesh.clients, [{ ...base, description: 'two\nlines' }]), 'routes[0].description');
    await refused(() => ensureRouteTable(c, [null as unknown as RouteSpec]), 'routes[0]');
    await refused(() => createLocalGatewayRoute(c, null as never), 'spec');
  });

  it('booleans are strictly boolean (advertise: "yes" is not false)', async () => {
    const c = mesh.clients[0]!;
    await refused(() => ensureRouteTable(c, [{ cidr: '10.9.0.0/16', advertise: 'yes' as unknown as boolean }]), 'routes[0].advertise');
    await refused(() => createLocalGatewayRoute(c, { cidr: '10.9.0.0/16', subnet: '10.1.1.0/24', advertise: 1 as unknown as boolean }), 'advertise');
    await refused(() => peerMesh(mesh.clients, { removeExtra: 'true' as unknown as boolean }), 'removeExtra');
    await refused(() => ensureRouteTable(c, [], { dryRun: 'no' as unknown as boolean }), 'dryRun');
  });

  it('firewall: the whole policy is checked (unknown chain, line break) before any rule is deleted', async () => {
    const c = mesh.clients[0]!;
    await c.post('/firewall/rules', { body: { rule: 'INPUT_CUST -s 203.0.113.0/24 -j DROP', position: -1 } });
    mesh.sim.resetCounters();
    await refused(() => ensureFirewallPolicy(c, ['INPUT_CUST -j ACCEPT', 'FILTER -j DROP']), 'rules[1]');
    await refused(() => ensureFirewallPolicy(mesh.clients, ['INPUT_CUST -j ACCEPT\nFORWARD_CUST -j DROP']), 'rules[0]');
    expect((await c.get('/firewall/rules')).map((e) => e[0])).toEqual(['INPUT_CUST -s 203.0.113.0/24 -j DROP']);
  });

  it('containers: names like ../x, environment values with NUL or a line break', async () => {
    const c = mesh.clients[0]!;
    const spec = { name: 'plugin', image: 'img', command: '' };
    await refused(() => ensureContainer(c, { ...spec, name: '../x' }), 'container.name');
    await refused(() => ensureContainer(c, { ...spec, name: 'a b' }), 'container.name');
    const v = await refused(() => ensureContainer(c, { ...spec, environment: { PASSWORD: 'se\0cret-ENV-VALUE' } }), 'environment.PASSWORD');
    expect(v.message).not.toContain('cret-ENV-VALUE');
    await refused(() => ensureContainer(c, { ...spec, environment: { K: 'a\nB=b' } }), 'environment.K');
  });

  it('image URLs: http and https only', async () => {
    const c = mesh.clients[0]!;
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'ftp://h/x.tar', 'data:text/plain,x', 'https://h/x\n.tar']) {
      await refused(() => ensureImage(c, { name: 'img', url }), 'image.url');
    }
    await refused(() => ensureImage(c, { name: 'img', buildurl: 'file:///x' }), 'image.buildurl');
  });

  it('passwords and tokens: no control characters, never shown', async () => {
    const c = mesh.clients[0]!;
    const v = await refused(() => rollApiPassword(mesh.clients, 'new\nPASSWORD-X'), 'newPassword');
    expect(v.message).not.toContain('PASSWORD-X');
    await refused(() => rollUiCredentials(mesh.clients, { username: 'admin', password: 'a\0b' }), 'credentials.password');
    await refused(() => setupController(c, { license: 'x', keysetToken: 'tok\r\nen' }), 'keysetToken');
    await refused(() => fetchKeysets([mesh.clients[1]!], { source: '10.0.0.1', token: 'a\u0000' }), 'token');
    expect(() => createClient({ host, password: 'pw\nX-Injected: 1' })).toThrow(Vns3ValidationError);
    expect(() => createClient({ host, apiToken: 'tok\r\n' })).toThrow(/Invalid apiToken: \[redacted\]/);
  });

  it('hosts: a line break or space is refused (named one way, dialled another)', () => {
    for (const bad of ['127.0.0.1\nevil.example', 'a b:8000', 'ctl1:8000\r', 'h\u0000st']) {
      expect(() => createClient({ host: bad, password: 'pw' }), JSON.stringify(bad)).toThrow(Vns3ValidationError);
      expect(() => connectControllers([bad], { password: 'pw' })).toThrow(Vns3ValidationError);
    }
  });

  it('durations: positive and at most 2^31-1 ms (Infinity only for waits ended by a signal)', async () => {
    await refused(() => waitForMesh(mesh.clients, { timeoutMs: 1e10 }), 'timeoutMs');
    await refused(() => waitForMesh(mesh.clients, { timeoutMs: -1 }), 'timeoutMs');
    await refused(() => waitForMesh(mesh.clients, { intervalMs: 2 ** 31 }), 'intervalMs');
    await refused(() => ensureContainer(mesh.clients[0]!, { name: 'p', image: 'i', command: '' }, { timeoutMs: NaN }), 'timeoutMs');
    await refused(() => setupController(mesh.clients[0]!, { license: 'x', keysetToken: 't', waitTimeoutMs: 2 ** 31 }), 'waitTimeoutMs');
    await refused(() => peerMesh(mesh.clients, { retryBudget: { timeoutMs: 1e12 } }), 'retryBudget.timeoutMs');
    await refused(() => peerMesh(mesh.clients, { retryBudget: { attempts: 0 } }), 'retryBudget.attempts');
    await refused(() => rollApiPassword(mesh.clients, 'pw', { requestTimeoutMs: Infinity }), 'requestTimeoutMs');
    expect(() => createClient({ host, password: 'pw', timeoutMs: 2 ** 31 })).toThrow(/Invalid timeoutMs/);
  });

  it('controller lists: empty is refused, not reported as success', async () => {
    await refused(() => setPeerIds([]), 'clients');
    await refused(() => peerMesh([]), 'clients');
    await refused(() => waitForMesh([]), 'clients');
    await refused(() => createPeerMeshLocalGatewayRoutes([], { subnets: [] }), 'clients');
    await refused(() => createRouteAdvertisements([], { subnets: [] }), 'clients');
    await refused(() => ensureRouteTable([], []), 'clients');
    await refused(() => ensureFirewallPolicy([], []), 'clients');
    await refused(() => fetchKeysets([], { source: '10.0.0.1', token: 't' }), 'clients');
    await refused(() => rollApiPassword([], 'pw'), 'clients');
  });

  it('credentials: createClient needs a password or an apiToken', () => {
    const err = (() => {
      try {
        createClient({ host });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(Vns3ValidationError);
    expect((err as Vns3ValidationError).message).toMatch(/password or an apiToken is required/);
    expect(() => createClient({ host, password: '' })).toThrow(Vns3ValidationError);
    expect(() => createClient({ host, password: 'pw', username: 'a:b' })).toThrow(/Invalid username/);
  });

  it('deployHaPlugin: passwords, flags and names checked before any read or write', async () => {
    const [primary, secondary] = mesh.clients as [typeof mesh.clients[0], typeof mesh.clients[0]];
    const input = {
      primary: primary!,
      secondary: secondary!,
      cloud: 'overlay' as const,
      primaryApiPassword: 'p1',
      secondaryApiPassword: 'p2',
      image: { name: 'ha', url: 'https://example.com/ha.tar.gz' },
    };
    await refused(() => deployHaPlugin({ ...input, primaryApiPassword: 'p\u0000' }), 'primaryApiPassword');
    await refused(() => deployHaPlugin({ ...input, dryRun: 'yes' as unknown as boolean }), 'dryRun');
    await refused(() => deployHaPlugin({ ...input, image: { name: 'ha', url: 'file:///ha.tar' } }), 'image.url');
  });
});
