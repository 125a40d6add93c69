/**
 * An HA test bed: simulated controllers in one VPC (licensed, one keyset,
 * fully peered), a netcut proxy in front of the primary for the standby's
 * underlay path, emulated clouds, and helpers that build agent configs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Vns3Client } from '../../src/client/index.js';
import { parseHaConfig } from '../../src/ha/config.js';
import type { HaAgentDeps } from '../../src/ha/agent.js';
import type { HaAgentConfig } from '../../src/ha/context.js';
import type { Vns3Event } from '../../src/events.js';
import { startAzureEmulator, startEc2Emulator, type AzureEmulator, type Ec2Emulator } from '../../src/testing/clouds/index.js';
import { startTcpProxy, type TcpProxy } from '../../src/testing/netcut.js';
import type { Simulator } from '../../src/testing/simulator/index.js';
import { startTestMesh } from '../helpers/sim.js';

export const PRIMARY_LAN = '192.168.10.0/24';
export const INTERVAL_MS = 150;
export const ROUTED = ['10.200.0.0/16', '172.16.0.0/12'];

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface HaBed {
  sim: Simulator;
  clients: Vns3Client[];
  /** In front of controller 0 (the primary): the standbys' underlay path. */
  underlay: TcpProxy;
  caFile: string;
  ec2?: Ec2Emulator;
  azure?: AzureEmulator;
  ip(i: number): string;
  url(i: number): string;
  /** Advertised routes (ours) on controller i. */
  routes(i: number): Promise<{ cidr: string; description: string | null; advertise: boolean; editable?: boolean }[]>;
  /** Config for controller i as a standby of controller 0. */
  standbyConfig(i: number, extra?: Record<string, unknown>): HaAgentConfig;
  primaryConfig(standby: number, extra?: Record<string, unknown>): HaAgentConfig;
  /**
   * The agents' clock: it advances one check interval per `rounds()` round, so that grace periods
   * and delays measured in intervals do not depend on how fast this machine runs the checks.
   */
  clock: { t: number; now(): number };
  rounds(agents: { checkOnce(): Promise<unknown> }[], n: number, until?: () => boolean | Promise<boolean>): Promise<number>;
  /** Agent dependencies for tests: emulator credentials, a generous probe timeout, events collected. */
  deps(events?: Vns3Event[]): HaAgentDeps;
  /** Crash controller i as a VM would: API gone and (with a cloud) the instance stopped. */
  crash(i: number, cloudState?: 'stopped' | 'running'): Promise<void>;
  restore(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startHaBed(opts: { controllers?: number; cloud?: 'aws' | 'azure' | 'overlay' } = {}): Promise<HaBed> {
  const n = opts.controllers ?? 3;
  const mesh = await startTestMesh({
    controllers: n,
    subnets: Array.from({ length: n }, (_, i) => `10.0.${i + 1}.0/24`),
    timings: { rebootAfterFetch: false, rebootOutageMs: 30, reboot5xxMs: 10, peerLinkUpMs: 5 },
  });
  const { sim, clients } = mesh;
  const [root] = clients;
  const ids = sim.controllers.map((c) => c.identity);
  await root!.put('/license', { body: sim.license({ controllers: n }) } as never);
  await root!.put('/license/parameters', { body: { default: true } } as never);
  await waitFor('root licensed', async () => (await root!.get('/config').catch(() => undefined))?.licensed === true);
  await root!.put('/keyset', { body: { token: 'ha-test-token' } } as never);
  const present = async (c: Vns3Client) => ((await c.get('/keyset').catch(() => undefined)) as { keyset_present?: boolean } | undefined)?.keyset_present === true;
  await waitFor('root keyset', () => present(root!));
  await Promise.all(clients.slice(1).map((c) => c.put('/keyset', { body: { token: 'ha-test-token', source: ids[0]!.privateIp } } as never)));
  for (const c of clients.slice(1)) await waitFor('keyset fetched', () => present(c));
  await Promise.all(clients.map((c, i) => c.put('/peering/self', { body: { id: i + 1 } } as never)));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j) await clients[i]!.post('/peering/peers', { body: { id: j + 1, name: ids[j]!.privateIp } } as never);
    }
  }
  await waitFor('mesh up', async () => {
    const views = await Promise.all(clients.map((c) => c.get('/peering')));
    return views.every((v) => Object.values((v as { managers: Record<string, { self?: boolean; reachable?: boolean }> }).managers).every((m) => m.self || m.reachable));
  });
  // The primary advertises its LAN to the mesh; a standby must carry it on when the primary dies.
  await root!.post('/routes', { body: { cidr: PRIMARY_LAN, description: 'primary LAN', interface: 'eth0', gateway: '10.0.1.1', advertise: true } } as never);

  const underlay = await startTcpProxy({ targetPort: sim.controllers[0]!.port });
  const dir = await mkdtemp(join(tmpdir(), 'vns3-ha-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, sim.controllers.map((c) => c.certificate).join('\n'));

  let ec2: Ec2Emulator | undefined;
  let azure: AzureEmulator | undefined;
  if (opts.cloud === 'aws') {
    ec2 = await startEc2Emulator();
    ids.forEach((id, i) => ec2!.addInstance({ instanceId: `i-vns3${i}`, networkInterfaceId: `eni-vns3${i}`, privateIp: id.privateIp, vpcId: 'vpc-ha' }));
    ec2.addRouteTable({ routeTableId: 'rtb-a', vpcId: 'vpc-ha', routes: [{ destination: '10.0.0.0/16', gatewayId: 'local' }, { destination: ROUTED[0]!, networkInterfaceId: 'eni-vns30' }, { destination: '0.0.0.0/0', gatewayId: 'igw-1' }] });
    ec2.addRouteTable({ routeTableId: 'rtb-b', vpcId: 'vpc-ha', routes: [{ destination: ROUTED[0]!, instanceId: 'i-vns30' }, { destination: ROUTED[1]!, networkInterfaceId: 'eni-vns30' }] });
  }
  if (opts.cloud === 'azure') {
    azure = await startAzureEmulator();
    ids.forEach((id, i) => azure!.addVm({ name: `vns3-${i}`, privateIp: id.privateIp }));
    azure.addRouteTable({ name: 'rt-a', routes: [{ name: 'to-aws', addressPrefix: ROUTED[0]!, nextHopIpAddress: ids[0]!.privateIp }, { name: 'internet', addressPrefix: '0.0.0.0/0', nextHopType: 'Internet' }] });
    azure.addRouteTable({ name: 'rt-b', routes: [{ name: 'to-dc', addressPrefix: ROUTED[1]!, nextHopIpAddress: ids[0]!.privateIp }] });
  }

  const azureCaFile = join(dir, 'azure-ca.pem');
  if (azure) await writeFile(azureCaFile, azure.ca);
  const cloudKeys = (): Record<string, unknown> =>
    opts.cloud === 'aws'
      ? { cloud: 'aws', aws_region: 'us-east-1', aws_vpc_id: 'vpc-ha', aws_endpoint: ec2!.endpoint }
      : opts.cloud === 'azure'
        ? { cloud: 'azure', azure_subscription_id: azure!.subscriptionId, azure_resource_group: azure!.resourceGroup, azure_endpoint: azure!.endpoint, azure_ca_file: azureCaFile }
        : { cloud: 'overlay' };
  const url = (i: number) => `https://127.0.0.1:${sim.controllers[i]!.port}`;
  const common = { check_interval: INTERVAL_MS / 1000, fall: 3, rise: 3, ca_file: caFile };

  const clock = {
    t: Date.now(),
    now() {
      return clock.t;
    },
  };
  return {
    sim,
    clients,
    underlay,
    clock,
    rounds: (agents, n, until) => rounds(agents, n, until, () => void (clock.t += INTERVAL_MS)),
    caFile,
    ...(ec2 ? { ec2 } : {}),
    ...(azure ? { azure } : {}),
    ip: (i) => ids[i]!.privateIp,
    deps: (events) => ({
      awsCredentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
      ...(azure ? { azureCredential: azure.credential } : {}),
      // Loaded test machines can be slow; a lost probe must come from the faults we inject, not from load.
      probeTimeoutMs: 2_000,
      now: clock.now,
      cloudSnapshotIntervalMs: 0,
      ...(events ? { onEvent: (e: Vns3Event) => void events.push(e) } : {}),
    }),
    url,
    async routes(i) {
      const map = (await clients[i]!.get('/routes')) as Record<string, { cidr: string; description: string | null; advertise: boolean; editable?: boolean }>;
      return Object.values(map);
    },
    standbyConfig(i, extra = {}) {
      return parseHaConfig({
        mode: 'secondary',
        ...cloudKeys(),
        ...common,
        peer_public_ip: ids[0]!.publicIp,
        my_underlay_ip: ids[i]!.privateIp,
        peer_underlay_ip: ids[0]!.privateIp,
        peer_overlay_ip: ids[0]!.overlayIp,
        my_api_password: sim.controllers[i]!.password,
        peer_api_password: sim.controllers[0]!.password,
        my_api_url: url(i),
        peer_api_url: `https://127.0.0.1:${underlay.port}`,
        peer_public_api_url: url(0),
        ...extra,
      });
    },
    primaryConfig(standby, extra = {}) {
      return parseHaConfig({
        mode: 'primary',
        ...cloudKeys(),
        ...common,
        peer_public_ip: ids[standby]!.publicIp,
        my_underlay_ip: ids[0]!.privateIp,
        peer_underlay_ip: ids[standby]!.privateIp,
        my_api_password: sim.controllers[0]!.password,
        peer_api_password: sim.controllers[standby]!.password,
        my_api_url: url(0),
        peer_public_api_url: url(standby),
        ...extra,
      });
    },
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
      await ec2?.stop();
      await azure?.stop();
      await mesh.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one check on every agent at once, `n` rounds or until `until` holds; returns the rounds run. */
export async function rounds(
  agents: { checkOnce(): Promise<unknown> }[],
  n: number,
  until?: () => boolean | Promise<boolean>,
  afterRound?: () => void,
): Promise<number> {
  for (let i = 1; i <= n; i++) {
    await Promise.all(agents.map((a) => a.checkOnce()));
    afterRound?.();
    if (until && (await until())) return i;
  }
  return n;
}
