/**
 * Deploys the VNS3 HA plugin on a primary/secondary pair: lock-down routes, the firewall rules
 * that let the plugin out, the plugin image and one container per controller (primary and
 * secondary mode, configured through HAENV_ variables). Prints the plan (dry run), deploys,
 * then deploys again to show that the second run has nothing to do.
 *
 * Offline (no environment): starts 4 simulated controllers, builds a peered mesh with the
 * macros, and deploys the plugin on controllers 1 (primary) and 2 (secondary).
 *   npx tsx examples/ha-pair.ts
 * Against real controllers (already licensed and peered):
 *   PRIMARY_HOST=10.0.1.10:8000 SECONDARY_HOST=10.0.2.10:8000 \
 *   VNS3_PASSWORD=… | PRIMARY_PASSWORD=… SECONDARY_PASSWORD=… \
 *   HA_CLOUD=aws|azure|overlay HA_IMAGE_URL=https://…/ha-plugin.tar.gz [HA_IMAGE_NAME=vns3-ha-plugin] \
 *   [MESH_HOSTS=other1:8000,other2:8000] [VPC_CIDR=10.0.0.0/16] [HA_REPLACE=true] \
 *   [PRIMARY_FINGERPRINT=AB:CD… SECONDARY_FINGERPRINT=… | VNS3_CA_FILE=ca.pem | VNS3_INSECURE=true] \
 *   npx tsx examples/ha-pair.ts
 */
import { readFileSync } from 'node:fs';
import type { HaCloud } from '../src/ha/index.js';
import {
  createEventPrinter,
  assertBulkOk,
  connectControllers,
  createPeerMeshLocalGatewayRoutes,
  deployHaPlugin,
  fetchKeysets,
  fetchStates,
  peerMesh,
  setPeerIds,
  setupController,
  waitForMesh,
  type DeployHaPluginInput,
  type DeployHaPluginResult,
  type Vns3Client,
  type Vns3Event,
} from '../src/index.js';
import { startSimulator, type Simulator } from '../src/testing/index.js';

interface Setup {
  input: DeployHaPluginInput;
  clients: Vns3Client[];
  describe: string;
  simulator?: Simulator;
}

/**
 * Progress as a readable log: one line per step that did something, with the time since the start,
 * and a heartbeat line whenever a wait (a reboot, a keyset generation) has been quiet for 3 s.
 * `DEBUG=vns3` adds every poll and request.
 */
const printer = createEventPrinter({ heartbeatMs: 3_000 });
const progress = printer.onEvent;

function phase(title: string): void {
  console.log(`\n── ${title}`);
}

function fromEnvironment(env: NodeJS.ProcessEnv): Setup | undefined {
  if (!env.PRIMARY_HOST && !env.SECONDARY_HOST) return undefined;
  const need = ['PRIMARY_HOST', 'SECONDARY_HOST', 'HA_CLOUD', 'HA_IMAGE_URL'].filter((n) => !env[n]);
  const primaryPassword = env.PRIMARY_PASSWORD ?? env.VNS3_PASSWORD;
  const secondaryPassword = env.SECONDARY_PASSWORD ?? env.VNS3_PASSWORD;
  if (!primaryPassword || !secondaryPassword) need.push('VNS3_PASSWORD (or PRIMARY_PASSWORD and SECONDARY_PASSWORD)');
  if (need.length > 0) throw new Error(`PRIMARY_HOST/SECONDARY_HOST given, so these are needed too: ${need.join(', ')}`);
  const common = {
    ...(env.VNS3_CA_FILE ? { ca: readFileSync(env.VNS3_CA_FILE, 'utf8') } : {}),
    ...(env.VNS3_INSECURE === 'true' ? { insecure: true } : {}),
  };
  const meshHosts = (env.MESH_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  const clients = connectControllers(
    [
      { host: env.PRIMARY_HOST!, password: primaryPassword!, ...(env.PRIMARY_FINGERPRINT ? { fingerprint256: env.PRIMARY_FINGERPRINT } : {}) },
      { host: env.SECONDARY_HOST!, password: secondaryPassword!, ...(env.SECONDARY_FINGERPRINT ? { fingerprint256: env.SECONDARY_FINGERPRINT } : {}) },
      ...meshHosts.map((host) => ({ host, password: env.VNS3_PASSWORD ?? primaryPassword! })),
    ],
    common,
  );
  const [primary, secondary] = clients as [Vns3Client, Vns3Client];
  return {
    clients,
    describe: `${primary.host} (primary) and ${secondary.host} (secondary)`,
    input: {
      primary,
      secondary,
      mesh: clients,
      cloud: env.HA_CLOUD as HaCloud,
      image: { name: env.HA_IMAGE_NAME ?? 'vns3-ha-plugin', url: env.HA_IMAGE_URL! },
      primaryApiPassword: primaryPassword!,
      secondaryApiPassword: secondaryPassword!,
      ...(env.VPC_CIDR ? { vpcCidr: env.VPC_CIDR } : {}),
      ...(env.HA_REPLACE === 'true' ? { replace: true } : {}),
    },
  };
}

/** 4 simulated controllers, licensed, keyed and peered with the same macros a real deployment uses. */
async function simulated(): Promise<Setup> {
  const simulator = await startSimulator({ controllers: 4 });
  const clients = simulator.connectAll();
  const [root, ...others] = clients as [Vns3Client, ...Vns3Client[]];
  const options = { onEvent: progress, signal: AbortSignal.timeout(5 * 60_000) };
  const keysetToken = 'example-keyset-token';
  phase('building the peered mesh (simulated)');
  await setupController(root, { topologyName: 'ha-example', license: simulator.license(), licenseParameters: { default: true }, keysetToken }, options);
  const [rootState] = assertBulkOk(await fetchStates([root]), 'read root state');
  assertBulkOk(await fetchKeysets(others, { source: rootState!.privateIp, token: keysetToken }, options), 'fetch keysets');
  assertBulkOk(await setPeerIds(clients, options), 'set peer ids');
  assertBulkOk(await createPeerMeshLocalGatewayRoutes(clients, { subnets: simulator.controllers.map((c) => c.identity.subnet) }, options), 'peer routes');
  assertBulkOk(await peerMesh(clients, options), 'peer the mesh');
  await waitForMesh(clients, { ...options, timeoutMs: 60_000 });
  const [c1, c2] = simulator.controllers;
  return {
    clients,
    simulator,
    describe: `simulated ${c1!.name} (primary) and ${c2!.name} (secondary) of a 4-controller mesh`,
    input: {
      primary: clients[0]!,
      secondary: clients[1]!,
      mesh: clients,
      cloud: 'aws',
      image: { name: 'vns3-ha-plugin', url: 'https://downloads.example.com/vns3-ha-plugin.tar.gz' },
      primaryApiPassword: c1!.password,
      secondaryApiPassword: c2!.password,
      sleepTime: 15,
      logLevel: 'info',
    },
  };
}

function printController(d: DeployHaPluginResult['primary']): void {
  console.log(`${d.role} ${d.controller}${d.agent ? '' : ' (no agent)'}${d.changed ? '' : ': nothing to do'}`);
  if (!d.changed) return;
  for (const r of d.routesToAdd) console.log(`  route     ${r.cidr} via ${r.gateway} on ${r.interface}  (${r.description})`);
  for (const r of d.rulesToAdd) console.log(`  rule      ${r}`);
  if (d.containerSystem === 'start') console.log('  system    start the container system');
  if (d.image !== 'none' && d.image !== 'skip') console.log(`  image     ${d.image}`);
  if (d.container !== 'none' && d.container !== 'skip') {
    const why = d.containerDifferences.length > 0 ? ` (differs in ${d.containerDifferences.join('; ')})` : '';
    console.log(`  container ${d.container} at ${d.pluginIp ?? '?'} on ${d.pluginNetwork}${why}`);
    for (const [k, v] of Object.entries(d.environment)) console.log(`            ${k}=${v}`);
  }
  for (const n of d.notes) console.log(`  note      ${n}`);
}

function printResult(r: DeployHaPluginResult): void {
  printController(r.primary);
  printController(r.secondary);
}

async function main(): Promise<void> {
  const setup = fromEnvironment(process.env) ?? (await simulated());
  const options = { onEvent: progress, signal: AbortSignal.timeout(15 * 60_000), timeoutMs: 10 * 60_000 };
  try {
    phase(`HA plugin plan for ${setup.describe} (dry run, nothing written)`);
    printResult(await deployHaPlugin({ ...setup.input, dryRun: true }, options));

    phase('deploying');
    const deployed = await deployHaPlugin(setup.input, options);
    phase('deployed');
    printResult(deployed);

    phase('deploying again');
    setup.simulator?.resetCounters();
    const again = await deployHaPlugin(setup.input, options);
    const writes = setup.simulator ? `, ${setup.simulator.totalWrites()} write requests` : '';
    console.log(again.changed ? 'second run changed something (another actor is editing these controllers?)' : `nothing to do${writes}`);
  } finally {
    await Promise.all(setup.clients.map((c) => c.close()));
    await setup.simulator?.stop();
    printer.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`\nha-pair failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
