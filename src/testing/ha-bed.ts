/**
 * An HA test bed: simulated controllers in one VPC (licensed, one keyset, fully peered, the
 * primary advertising its LAN), a cuttable TCP hop in front of the primary for the standbys'
 * underlay path, optionally an emulated cloud whose route tables point at the primary, and
 * helpers that build agent configurations and drive agents check by check. It is what this SDK's
 * own HA tests and failover benchmark run on; use it to test your own HA settings, events and
 * alerting offline.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The root entry, as mesh.ts does: the root never imports src/testing, so there is no cycle.
import { pollUntil } from '../index.js';
import type { Vns3Client } from '../client/index.js';
import type { Vns3Event } from '../events.js';
import { parseHaConfig, type HaAgentConfig, type HaAgentDeps } from '../ha/index.js';
import { startAzureEmulator, startEc2Emulator, type AzureEmulator, type Ec2Emulator } from './clouds/index.js';
import { startTcpProxy, type TcpProxy } from './netcut.js';
import { startTestMesh } from './mesh.js';
import type { Simulator } from './simulator/index.js';

/** The primary's LAN, advertised by controller 0; a standby must carry it on when the primary dies. */
const PRIMARY_LAN = '192.168.10.0/24';
/** The agents' check interval on the bed, and how far the bed's clock moves per round. */
const INTERVAL_MS = 150;
/** Cloud destinations routed to the primary (AWS: `rtb-a`, `rtb-b`; Azure: `rt-a`, `rt-b`). */
const ROUTED = ['10.200.0.0/16', '172.16.0.0/12'] as const;

/** Where the bed's controllers run: how many, and which cloud's route tables point at controller 0. */
export interface HaBedOptions {
  /** Default 3: controller 0 is the primary, the others standbys or observers. */
  controllers?: number | undefined;
  /** Default `overlay`: no cloud emulator. */
  cloud?: 'aws' | 'azure' | 'overlay' | undefined;
}

/** Anything with `checkOnce()`: an `HaAgent`. */
export interface HaBedAgent {
  checkOnce(): Promise<unknown>;
}

/** A running HA test bed; see {@link startHaBed}. */
export interface HaBed {
  sim: Simulator;
  /** One pinned client per controller, with fast retries. */
  clients: Vns3Client[];
  /** In front of controller 0 (the primary): the standbys' underlay path. */
  underlay: TcpProxy;
  /** In front of controller 0 too: the standbys' path to its public API (cut it with `underlay` and a partition to isolate a standby). */
  publicPath: TcpProxy;
  /** PEM of every controller's certificate, for `ca_file`. */
  caFile: string;
  ec2?: Ec2Emulator | undefined;
  azure?: AzureEmulator | undefined;
  /** The primary's advertised LAN (`192.168.10.0/24`). */
  primaryLan: string;
  /** The cloud destinations routed to the primary. */
  routed: readonly string[];
  /** The agents' check interval in ms. */
  intervalMs: number;
  ip(i: number): string;
  url(i: number): string;
  /** Routes (ours and learned) on controller i. */
  routes(i: number): Promise<{ cidr: string; description: string | null; advertise: boolean; editable?: boolean }[]>;
  /** Config for controller i as a standby of controller 0; every other controller is one of its `observers`. */
  standbyConfig(i: number, extra?: Record<string, unknown>): HaAgentConfig;
  /** Config for controller 0 as the primary, with controller `standby` as its standby. */
  primaryConfig(standby: number, extra?: Record<string, unknown>): HaAgentConfig;
  /**
   * The agents' clock: it advances one check interval per `rounds()` round, so that grace periods
   * and delays measured in intervals do not depend on how fast this machine runs the checks.
   */
  clock: { t: number; now(): number };
  /** Runs one check on every agent at once, `n` rounds or until `until` holds; returns the rounds run. */
  rounds(agents: HaBedAgent[], n: number, until?: () => boolean | Promise<boolean>): Promise<number>;
  /** Polls `cond` every 20 ms; throws `Vns3WaitTimeoutError` naming `what` after `timeoutMs` (default 15 s). */
  waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs?: number): Promise<void>;
  /** Agent dependencies for tests: emulator credentials, a generous probe timeout, the bed's clock, events collected. */
  deps(events?: Vns3Event[]): HaAgentDeps;
  /** Crash controller i as a VM would: API gone and (with a cloud) the instance stopped. */
  crash(i: number, cloudState?: 'stopped' | 'running'): Promise<void>;
  restore(i: number): Promise<void>;
  /** Stops everything the bed started and removes its files. */
  stop(): Promise<void>;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  // The SDK's one poller, at a steady 20 ms; an error from `cond` ends the wait at once, as it should in a test.
  await pollUntil({ what, controller: '*', probe: async () => cond(), done: (ok) => ok, fatal: () => true }, { timeoutMs, intervalMs: 20, maxIntervalMs: 20, factor: 1 });
}

async function rounds(agents: HaBedAgent[], n: number, until: (() => boolean | Promise<boolean>) | undefined, afterRound: () => void): Promise<number> {
  for (let i = 1; i <= n; i++) {
    await Promise.all(agents.map((a) => a.checkOnce()));
    afterRound();
    if (until && (await until())) return i;
  }
  return n;
}

/** Simulated controllers and a pinned client for each (replies checked against the spec, fast retries). */
async function startControllers(n: number): Promise<{ sim: Simulator; clients: Vns3Client[] }> {
  const { sim, clients } = await startTestMesh({
    controllers: n,
    subnets: Array.from({ length: n }, (_, i) => `10.0.${i + 1}.0/24`),
    timings: { rebootAfterFetch: false, rebootOutageMs: 30, reboot5xxMs: 10, peerLinkUpMs: 5 },
  });
  return { sim, clients };
}

/** Licenses controller 0, gives every controller its keyset, peers them all and waits for the mesh. */
async function buildMesh(sim: Simulator, clients: Vns3Client[]): Promise<void> {
  const n = clients.length;
  const [root] = clients;
  const ids = sim.controllers.map((c) => c.identity);
  await root!.put('/license', { body: sim.license({ controllers: n }) });
  await root!.put('/license/parameters', { body: { default: true } });
  await waitFor('root licensed', async () => (await root!.get('/config').catch(() => undefined))?.licensed === true);
  await root!.put('/keyset', { body: { token: 'ha-test-token' } });
  const present = async (c: Vns3Client) => ((await c.get('/keyset').catch(() => undefined)) as { keyset_present?: boolean } | undefined)?.keyset_present === true;
  await waitFor('root keyset', () => present(root!));
  await Promise.all(clients.slice(1).map((c) => c.put('/keyset', { body: { token: 'ha-test-token', source: ids[0]!.privateIp } })));
  for (const c of clients.slice(1)) await waitFor('keyset fetched', () => present(c));
  await Promise.all(clients.map((c, i) => c.put('/peering/self', { body: { id: i + 1 } })));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j) await clients[i]!.post('/peering/peers', { body: { id: j + 1, name: ids[j]!.privateIp } });
    }
  }
  await waitFor('mesh up', async () => {
    const views = await Promise.all(clients.map((c) => c.get('/peering')));
    return views.every((v) => Object.values((v as { managers: Record<string, { self?: boolean; reachable?: boolean }> }).managers).every((m) => m.self || m.reachable));
  });
  await root!.post('/routes', { body: { cidr: PRIMARY_LAN, description: 'primary LAN', interface: 'eth0', gateway: '10.0.1.1', advertise: true } });
}

/** An EC2 emulator: every controller an instance of `vpc-ha`, tables `rtb-a` and `rtb-b` routing to controller 0. */
async function startEc2(sim: Simulator): Promise<Ec2Emulator> {
  const ec2 = await startEc2Emulator();
  sim.controllers.forEach((c, i) => ec2.addInstance({ instanceId: `i-vns3${i}`, networkInterfaceId: `eni-vns3${i}`, privateIp: c.identity.privateIp, vpcId: 'vpc-ha' }));
  ec2.addRouteTable({ routeTableId: 'rtb-a', vpcId: 'vpc-ha', routes: [{ destination: '10.0.0.0/16', gatewayId: 'local' }, { destination: ROUTED[0], networkInterfaceId: 'eni-vns30' }, { destination: '0.0.0.0/0', gatewayId: 'igw-1' }] });
  ec2.addRouteTable({ routeTableId: 'rtb-b', vpcId: 'vpc-ha', routes: [{ destination: ROUTED[0], instanceId: 'i-vns30' }, { destination: ROUTED[1], networkInterfaceId: 'eni-vns30' }] });
  return ec2;
}

/** An Azure emulator: every controller a VM `vns3-<i>`, tables `rt-a` and `rt-b` routing to controller 0. */
async function startAzure(sim: Simulator): Promise<AzureEmulator> {
  const azure = await startAzureEmulator();
  const primaryIp = sim.controllers[0]!.identity.privateIp;
  sim.controllers.forEach((c, i) => azure.addVm({ name: `vns3-${i}`, privateIp: c.identity.privateIp }));
  azure.addRouteTable({ name: 'rt-a', routes: [{ name: 'to-aws', addressPrefix: ROUTED[0], nextHopIpAddress: primaryIp }, { name: 'internet', addressPrefix: '0.0.0.0/0', nextHopType: 'Internet' }] });
  azure.addRouteTable({ name: 'rt-b', routes: [{ name: 'to-dc', addressPrefix: ROUTED[1], nextHopIpAddress: primaryIp }] });
  return azure;
}

/** The HA settings that name the bed's cloud. */
function cloudSettings(ec2: Ec2Emulator | undefined, azure: AzureEmulator | undefined, azureCaFile: string): Record<string, unknown> {
  if (ec2) return { cloud: 'aws', aws_region: 'us-east-1', aws_vpc_id: 'vpc-ha', aws_endpoint: ec2.endpoint };
  if (azure) return { cloud: 'azure', azure_subscription_id: azure.subscriptionId, azure_resource_group: azure.resourceGroup, azure_endpoint: azure.endpoint, azure_ca_file: azureCaFile };
  return { cloud: 'overlay' };
}

function apiUrl(sim: Simulator, i: number): string {
  return `https://127.0.0.1:${sim.controllers[i]!.port}`;
}

/** Agent configurations on the bed: `common` (cloud, interval, CA) plus each role's addresses and passwords. */
function agentConfigs(sim: Simulator, underlay: TcpProxy, publicPath: TcpProxy, common: Record<string, unknown>): Pick<HaBed, 'standbyConfig' | 'primaryConfig'> {
  const ids = sim.controllers.map((c) => c.identity);
  return {
    standbyConfig: (i, extra = {}) =>
      parseHaConfig({
        mode: 'secondary',
        ...common,
        peer_public_ip: ids[0]!.publicIp,
        my_underlay_ip: ids[i]!.privateIp,
        peer_underlay_ip: ids[0]!.privateIp,
        peer_overlay_ip: ids[0]!.overlayIp,
        my_api_password: sim.controllers[i]!.password,
        peer_api_password: sim.controllers[0]!.password,
        my_api_url: apiUrl(sim, i),
        peer_api_url: `https://127.0.0.1:${underlay.port}`,
        peer_public_api_url: `https://127.0.0.1:${publicPath.port}`,
        // Every other controller watches the primary over its own links: the tie-breaker.
        observers: sim.controllers.flatMap((c, j) => (j === 0 || j === i ? [] : [{ name: `observer${j}`, api_url: apiUrl(sim, j), api_password: c.password }])),
        ...extra,
      }),
    primaryConfig: (standby, extra = {}) =>
      parseHaConfig({
        mode: 'primary',
        ...common,
        peer_public_ip: ids[standby]!.publicIp,
        my_underlay_ip: ids[0]!.privateIp,
        peer_underlay_ip: ids[standby]!.privateIp,
        my_api_password: sim.controllers[0]!.password,
        peer_api_password: sim.controllers[standby]!.password,
        my_api_url: apiUrl(sim, 0),
        peer_public_api_url: apiUrl(sim, standby),
        ...extra,
      }),
  };
}

/**
 * Starts an HA test bed (see the top of this file): `controllers` simulated controllers (default
 * 3) meshed and keyed, and with `cloud: 'aws' | 'azure'` an emulator whose route tables point at
 * controller 0. Always `stop()` it. Throws when a step of the set-up does not complete within 15 s.
 */
export async function startHaBed(options: HaBedOptions = {}): Promise<HaBed> {
  const { controllers: n = 3, cloud = 'overlay' } = options;
  const { sim, clients } = await startControllers(n);
  await buildMesh(sim, clients);
  const ids = sim.controllers.map((c) => c.identity);
  const underlay = await startTcpProxy({ targetPort: sim.controllers[0]!.port });
  const publicPath = await startTcpProxy({ targetPort: sim.controllers[0]!.port });
  const dir = await mkdtemp(join(tmpdir(), 'vns3-ha-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, sim.controllers.map((c) => c.certificate).join('\n'));
  const ec2 = cloud === 'aws' ? await startEc2(sim) : undefined;
  const azure = cloud === 'azure' ? await startAzure(sim) : undefined;
  const azureCaFile = join(dir, 'azure-ca.pem');
  if (azure) await writeFile(azureCaFile, azure.ca);
  const cloudKeys = cloudSettings(ec2, azure, azureCaFile);
  const clock = { t: Date.now(), now: (): number => clock.t };

  return {
    sim,
    clients,
    underlay,
    publicPath,
    caFile,
    ec2,
    azure,
    primaryLan: PRIMARY_LAN,
    routed: ROUTED,
    intervalMs: INTERVAL_MS,
    clock,
    rounds: (agents, rounds_, until) => rounds(agents, rounds_, until, () => void (clock.t += INTERVAL_MS)),
    waitFor,
    ip: (i) => ids[i]!.privateIp,
    url: (i) => apiUrl(sim, i),
    deps: (events) => ({
      awsCredentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
      azureCredential: azure?.credential,
      // Loaded test machines can be slow; a lost probe must come from the faults we inject, not from load.
      probeTimeoutMs: 2_000,
      now: clock.now,
      cloudSnapshotIntervalMs: 0,
      onEvent: events ? (e: Vns3Event) => void events.push(e) : undefined,
    }),
    async routes(i) {
      const map = (await clients[i]!.get('/routes')) as Record<string, { cidr: string; description: string | null; advertise: boolean; editable?: boolean }>;
      return Object.values(map);
    },
    ...agentConfigs(sim, underlay, publicPath, { ...cloudKeys, check_interval: INTERVAL_MS / 1000, fall: 3, rise: 3, ca_file: caFile }),
    async crash(i, cloudState = 'stopped') {
      await sim.crash(i);
      ec2?.setInstanceState(`i-vns3${i}`, cloudState);
      azure?.setPowerState(`vns3-${i}`, cloudState === 'stopped' ? 'deallocated' : 'running');
    },
    async restore(i) {
      ec2?.setInstanceState(`i-vns3${i}`, 'running');
      azure?.setPowerState(`vns3-${i}`, 'running');
      await sim.restore(i);
    },
    async stop() {
      await underlay.stop();
      await publicPath.stop();
      await ec2?.stop();
      await azure?.stop();
      await Promise.all(clients.map((c) => c.close()));
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
