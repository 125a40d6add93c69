import https from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Vns3Client } from '../../src/client/index.js';
import { Vns3ValidationError } from '../../src/client/errors.js';
import { Vns3HaConfigError } from '../../src/ha/index.js';
import { listContainers, Vns3BulkError, deployHaPlugin, type DeployHaPluginInput, Vns3ImageImportError } from '../../src/macros/index.js';
import { makeSelfSignedCert, sendJson, startHttpsServer, type TestHttpsServer } from '../helpers/tls.js';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';

const fast = { timeoutMs: 10_000, intervalMs: 10 };
const PW1 = 'primary-pass-0123';
const PW2 = 'secondary-pass-4567';

function input(mesh: TestMesh, extra: Partial<DeployHaPluginInput> = {}): DeployHaPluginInput {
  const [a, b] = mesh.clients;
  return {
    primary: a!,
    secondary: b!,
    mesh: mesh.clients,
    cloud: 'aws',
    image: { name: 'ha-plugin', url: 'https://images.example.com/ha-plugin.tar.gz' },
    primaryApiPassword: PW1,
    secondaryApiPassword: PW2,
    sleepTime: 5,
    logLevel: 'debug',
    ...extra,
  };
}

/** `cloud: 'overlay'` needs a third party to break ties: one more controller of the mesh as observer. */
const OBSERVER_PW = 'observer-pass-8910';
const OVERLAY = { cloud: 'overlay', observers: [{ name: 'observer', underlayIp: '10.0.3.10', apiPassword: OBSERVER_PW }] } as const;

async function routesOf(client: Vns3Client): Promise<{ cidr: string; gateway?: string | null; interface?: string | null; advertise: boolean }[]> {
  return Object.values(await client.get('/routes'));
}
async function rulesOf(client: Vns3Client): Promise<string[]> {
  return (await client.get('/firewall/rules')).map((r) => String(r[0]));
}

describe('deployHaPlugin on a 4-controller mesh', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 4 });
  });
  afterAll(() => mesh.stop());

  it('rejects bad input before any write, naming the field', async () => {
    mesh.sim.resetCounters();
    const cases: [Partial<DeployHaPluginInput>, RegExp][] = [
      [{ cloud: 'gcp' as never }, /Invalid cloud: "gcp"/],
      [{ primaryApiPassword: '' }, /primaryApiPassword/],
      [{ secondaryUnderlayIp: '10.9.9.9' }, /my_underlay_ip: "10\.9\.9\.9" \(not in the subnet 10\.2\.1\.0\/24/],
      [{ primaryUnderlayIp: '10.7.7.7' }, /my_underlay_ip: "10\.7\.7\.7" \(not in the subnet 10\.1\.1\.0\/24/],
      [{ image: { name: 'ha-plugin' } }, /image source/],
      [{ extraEnv: { HAENV_MODE: 'primary' } }, /extraEnv\.HAENV_MODE/],
      [{ extraEnv: { HAENV_OBSERVERS: '[]' } }, /extraEnv\.HAENV_OBSERVERS.*use the observers option/],
      [{ observers: [{ name: 'o1', apiPassword: PW1 }] }, /observers\[0\]\.underlayIp: .*give underlayIp or apiUrl/],
      [{ observers: [{ name: 'o1', underlayIp: '10.3.1.300', apiPassword: PW1 }] }, /observers\[0\]\.underlayIp: "10\.3\.1\.300"/],
      [{ observers: [{ name: 'o1', apiUrl: 'ftp://x', apiPassword: PW1 }] }, /observers\[0\]\.apiUrl/],
      [{ observers: [{ name: 'o1', underlayIp: '10.3.1.10', apiPassword: '' }] }, /observers\[0\]\.apiPassword/],
      [{ observers: [{ name: 'o1', underlayIp: '10.3.1.10', apiPassword: PW1 }, { name: 'o1', underlayIp: '10.4.1.10', apiPassword: PW1 }] }, /observers\[1\]\.name: "o1" \(is used by another observer/],
      [{ observers: 'o1' as never }, /observers: .*must be a list/],
      [{ image: 'ghcr.io/example/vns3-ha:0.2.0' }, /image: "ghcr\.io\/example\/vns3-ha:0\.2\.0" \(.*not registries/],
    ];
    for (const [extra, message] of cases) {
      const err = await deployHaPlugin(input(mesh, extra), fast).catch((e: unknown) => e);
      expect(err, String(message)).toBeInstanceOf(Vns3ValidationError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain(PW1);
    }
    // The agent's own validator runs on the environment before anything is sent.
    const cfg = await deployHaPlugin(input(mesh, { extraEnv: { HAENV_FALL: 'zero' } }), fast).catch((e: unknown) => e);
    expect(cfg).toBeInstanceOf(Vns3HaConfigError);
    expect((cfg as Error).message).toMatch(/fall/);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('plans without writing in a dry run', async () => {
    mesh.sim.resetCounters();
    const plan = await deployHaPlugin(input(mesh, { dryRun: true }), fast);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect(plan.dryRun).toBe(true);
    expect(plan.changed).toBe(true);
    // 4 controllers + the DNS server (each sim controller's VPC DNS lies outside its subnet).
    expect(plan.primary.routesToAdd.map((r) => r.cidr).sort()).toEqual(['10.1.0.2/32', '10.1.1.10/32', '10.2.1.10/32', '10.3.1.10/32', '10.4.1.10/32']);
    expect(plan.secondary.routesToAdd.every((r) => r.gateway === '10.2.1.1' && r.interface === 'eth0')).toBe(true);
    expect(plan.secondary.rulesToAdd).toHaveLength(3);
    expect(plan.primary).toMatchObject({ image: 'import', container: 'start', agent: true });
    expect(plan.secondary.environment.HAENV_MY_API_PASSWORD).toBe('[redacted]');
    expect(JSON.stringify(plan)).not.toContain(PW2);
  });

  it('deploys everything, then writes nothing on a second run', async () => {
    const events: string[] = [];
    const result = await deployHaPlugin(input(mesh), { ...fast, onEvent: (e) => events.push(`${e.step} ${e.detail ?? ''}`) });
    expect(result.changed).toBe(true);
    expect(events.join('\n')).not.toContain(PW1);
    const [c1, c2, c3, c4] = mesh.clients as [Vns3Client, Vns3Client, Vns3Client, Vns3Client];
    const ids = mesh.sim.controllers.map((c) => c.identity);

    for (const [client, id, d] of [[c1, ids[0]!, result.primary], [c2, ids[1]!, result.secondary]] as const) {
      const routes = await routesOf(client);
      for (const ip of ids.map((i) => i.privateIp).concat(`${id.vpcCidr.split('.').slice(0, 3).join('.')}.2`)) {
        expect(routes, `${ip}/32 on ${client.host}`).toContainEqual(expect.objectContaining({ cidr: `${ip}/32`, gateway: id.subnet.replace(/0\/24$/, '1'), interface: 'eth0', advertise: false }));
      }
      const network = (await client.get('/container_system')).network;
      expect(d.pluginIp).toBeTruthy();
      expect(await rulesOf(client)).toEqual([
        `MACRO_CUST -o eth0 -s ${d.pluginIp}/32 -j MASQUERADE`,
        `INPUT_CUST -i plugin0 -s ${network} -j ACCEPT`,
        `OUTPUT_CUST -o plugin0 -d ${network} -j ACCEPT`,
      ]);
      const images = (await client.get('/container_system/images')).images;
      expect(images.map((i) => [i.image_name, i.status])).toEqual([['ha-plugin', 'Ready']]);
    }

    const [p] = (await listContainers(c1)).filter((c) => c.name === 'vns3-ha');
    expect(p?.running).toBe(true);
    expect(p?.ipAddress).toBe(result.primary.pluginIp);
    expect(Object.fromEntries(p!.env)).toEqual({
      HAENV_MODE: 'primary',
      HAENV_CLOUD: 'aws',
      HAENV_PEER_PUBLIC_IP: ids[1]!.publicIp,
      HAENV_MY_UNDERLAY_IP: ids[0]!.privateIp,
      HAENV_PEER_UNDERLAY_IP: ids[1]!.privateIp,
      HAENV_AWS_REGION: ids[0]!.region,
      HAENV_SLEEP_TIME: '5',
      HAENV_LOG_LEVEL: 'debug',
    });
    const [s] = (await listContainers(c2)).filter((c) => c.name === 'vns3-ha');
    expect(Object.fromEntries(s!.env)).toEqual({
      HAENV_MODE: 'secondary',
      HAENV_CLOUD: 'aws',
      HAENV_PEER_PUBLIC_IP: ids[0]!.publicIp,
      HAENV_MY_UNDERLAY_IP: ids[1]!.privateIp,
      HAENV_PEER_UNDERLAY_IP: ids[0]!.privateIp,
      HAENV_PEER_OVERLAY_IP: ids[0]!.overlayIp,
      HAENV_AWS_REGION: ids[1]!.region,
      HAENV_MY_API_PASSWORD: PW2,
      HAENV_PEER_API_PASSWORD: PW1,
      HAENV_SLEEP_TIME: '5',
      HAENV_LOG_LEVEL: 'debug',
    });
    // Controllers 3 and 4 only lend their addresses to the lock-down routes.
    expect(await rulesOf(c3)).toEqual([]);
    expect((await listContainers(c4)).length).toBe(0);

    mesh.sim.resetCounters();
    const again = await deployHaPlugin(input(mesh), fast);
    expect(mesh.sim.totalWrites()).toBe(0);
    expect(again.changed).toBe(false);
    expect(again.secondary).toMatchObject({ routesToAdd: [], rulesToAdd: [], image: 'none', container: 'none', pluginIp: result.secondary.pluginIp });
  });

  it('keeps user rules and routes, and replaces the container only when asked', async () => {
    const [c1] = mesh.clients as [Vns3Client];
    await c1.post('/firewall/rules', { body: { rule: 'INPUT_CUST -s 192.0.2.0/24 -j DROP', position: 0 } });
    mesh.sim.resetCounters();
    await expect(deployHaPlugin(input(mesh, { sleepTime: 30 }), fast)).rejects.toThrow(/environment \(HAENV_SLEEP_TIME\).*replace: true/);
    expect(mesh.sim.totalWrites()).toBe(0);
    const r = await deployHaPlugin(input(mesh, { sleepTime: 30, replace: true }), fast);
    expect(r.primary.container).toBe('replace');
    expect(r.secondary.container).toBe('replace');
    expect((await rulesOf(c1))[0]).toBe('INPUT_CUST -s 192.0.2.0/24 -j DROP');
    expect((await rulesOf(c1)).length).toBe(4);
  });
});

describe('deployHaPlugin failures', () => {
  let mesh: TestMesh;
  let proxy: TestHttpsServer | undefined;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2 });
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(() => mesh.stop());

  it('reports a failed image import with the controller message', async () => {
    mesh.sim.failImageImport(1, 'ha-plugin', 'Failed to download image: 404 Not Found');
    const err = await deployHaPlugin(input(mesh, { ...OVERLAY }), fast).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3BulkError);
    const cause = (err as Vns3BulkError).result.failed[0]?.error;
    expect(cause).toBeInstanceOf(Vns3ImageImportError);
    expect((err as Error).message).toContain('Failed to download image: 404 Not Found');
    expect((err as Error).message).toContain(mesh.clients[1]!.host);
  });

  it("with cloud 'overlay' runs only the secondary agent", async () => {
    const plan = await deployHaPlugin(input(mesh, { ...OVERLAY, image: { name: 'ha-ok', url: 'https://images.example.com/ok.tar.gz' }, dryRun: true }), fast);
    expect(plan.primary).toMatchObject({ agent: false, image: 'skip', container: 'skip', rulesToAdd: [] });
    expect(plan.primary.notes.join(' ')).toMatch(/overlay/);
    expect(plan.secondary).toMatchObject({ agent: true, container: 'start' });
    expect(plan.secondary.environment.HAENV_CLOUD).toBe('overlay');
  });

  it("refuses cloud 'overlay' without an observer before any write: its agent would refuse to start", async () => {
    mesh.sim.resetCounters();
    const err = (await deployHaPlugin(input(mesh, { cloud: 'overlay' }), fast).catch((e: unknown) => e)) as Vns3ValidationError;
    expect(err).toBeInstanceOf(Vns3ValidationError);
    expect(err.field).toBe('observers');
    expect(err.message).toMatch(/split brain/);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('writes observers as HAENV_OBSERVERS for the secondary only, with a lock-down route each; results never show their passwords', async () => {
    const observers = [{ name: 'obs-a', underlayIp: '10.9.1.10', apiPassword: OBSERVER_PW }, { name: 'obs-b', apiUrl: 'https://10.9.2.10:8443', apiPassword: OBSERVER_PW }];
    const plan = await deployHaPlugin(input(mesh, { cloud: 'overlay', observers, image: { name: 'ha-ok', url: 'https://images.example.com/ok.tar.gz' }, dryRun: true }), fast);
    expect(JSON.parse(plan.secondary.environment.HAENV_OBSERVERS!)).toEqual([
      { name: 'obs-a', underlay_ip: '10.9.1.10', api_password: '[redacted]' },
      { name: 'obs-b', api_url: 'https://10.9.2.10:8443', api_password: '[redacted]' },
    ]);
    expect(plan.primary.environment.HAENV_OBSERVERS).toBeUndefined();
    // Our own image by its archive's URL alone: imported as vns3-ha.
    const ours = await deployHaPlugin(input(mesh, { ...OVERLAY, image: 'https://images.example.com/vns3-sdk-ha.tar.gz', dryRun: true }), fast);
    expect(ours.secondary).toMatchObject({ image: 'import', container: 'start' });
    expect(plan.secondary.routesToAdd.map((r) => r.cidr)).toContain('10.9.1.10/32');
    expect(JSON.stringify(plan)).not.toContain(OBSERVER_PW);
  });

  it("starts a stopped container system, and with cloud 'overlay' leaves the primary without agent", async () => {
    const [c1, c2] = mesh.clients as [Vns3Client, Vns3Client];
    await Promise.all([c1, c2].map((c) => c.post('/container_system', { body: { action: 'stop' } })));
    const image = { name: 'ha-ok', url: 'https://images.example.com/ok.tar.gz' };
    const r = await deployHaPlugin(input(mesh, { ...OVERLAY, image }), fast);
    expect(r.secondary).toMatchObject({ containerSystem: 'start', container: 'start', image: 'import' });
    expect((await c2.get('/container_system')).running).toBe(true);
    const [s] = (await listContainers(c2)).filter((c) => c.name === 'vns3-ha');
    expect(s?.running).toBe(true);
    expect(s?.env.get('HAENV_CLOUD')).toBe('overlay');
    expect(JSON.parse(s!.env.get('HAENV_OBSERVERS')!)).toEqual([{ name: 'observer', underlay_ip: '10.0.3.10', api_password: OBSERVER_PW }]);
    // No agent on the primary: its container system is not started for nothing.
    expect((await c1.get('/container_system')).running).not.toBe(true);
    expect((await listContainers(c1)).some((c) => c.name === 'vns3-ha')).toBe(false);
  });

  it('fails before any write when the primary reports no overlay IP, naming peer_overlay_ip', async () => {
    const sim0 = mesh.sim.controllers[0]!;
    // A real HTTPS hop in front of controller 1 that answers GET /config without an overlay address.
    const cert = await makeSelfSignedCert();
    proxy = await startHttpsServer(cert, (req, res, body) =>
      new Promise<void>((resolve, reject) => {
        const up = https.request(
          { host: '127.0.0.1', port: sim0.port, path: req.url, method: req.method, headers: req.headers, ca: sim0.certificate },
          (upRes) => {
            const chunks: Buffer[] = [];
            upRes.on('data', (c: Buffer) => chunks.push(c));
            upRes.on('end', () => {
              const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: Record<string, unknown> };
              if (req.url === '/api/config' && payload.response) payload.response.overlay_ipaddress = null;
              sendJson(res, upRes.statusCode ?? 502, payload);
              resolve();
            });
          },
        );
        up.on('error', reject);
        up.end(body);
      }),
    );
    const primary = createClient({ host: proxy.host, password: sim0.password, fingerprint256: cert.fingerprint256, timeoutMs: 5_000 });
    try {
      mesh.sim.resetCounters();
      const err = await deployHaPlugin({ ...input(mesh), primary, mesh: [primary, mesh.clients[1]!] }, fast).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Vns3ValidationError);
      expect((err as Vns3ValidationError).field).toBe('peer_overlay_ip');
      expect((err as Error).message).toContain(proxy.host);
      expect(mesh.sim.totalWrites()).toBe(0);
    } finally {
      await primary.close();
    }
  });
});
