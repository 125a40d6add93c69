/**
 * The multi-cloud bridge: an AWS controller and an Azure controller, each the edge of its own
 * topology, joined by a route-based IPsec tunnel (VTI on a link-local /30), each routing the other
 * cloud's network into the tunnel. The Python SDK's multi-cloud example, idempotent.
 *
 * Offline (no environment): two simulated controllers on loopback, one "aws", one "azure".
 *   npx tsx examples/multicloud-bridge.ts
 * Against real, licensed controllers:
 *   VNS3_HOSTS=aws-ctl:8000,azure-ctl:8000 VNS3_PASSWORD=… BRIDGE_PSK=… \
 *   NETWORKS=172.31.0.0/16,10.20.0.0/16 [VNS3_FINGERPRINTS=AB:CD…,… | VNS3_CA_FILE=ca.pem | VNS3_INSECURE=true] \
 *   npx tsx examples/multicloud-bridge.ts
 * Run it twice: the second run finds everything in place and writes nothing.
 */
import { readFileSync } from 'node:fs';
import { assertBulkOk, connectControllers, createEventPrinter, setupController, type Vns3Client, type Vns3Event } from '../src/index.js';
import { bridgeControllers } from '../src/macros/index.js';
import { startSimulator, type Simulator } from '../src/testing/index.js';

interface Clouds {
  aws: Vns3Client;
  azure: Vns3Client;
  /** The network behind each controller (its VPC / VNet). */
  networks: { aws: string; azure: string };
  psk: string;
  describe: string;
  simulator?: Simulator;
}

function fromEnvironment(env: NodeJS.ProcessEnv): Clouds | undefined {
  if (!env.VNS3_HOSTS) return undefined;
  const hosts = env.VNS3_HOSTS.split(',').map((h) => h.trim()).filter(Boolean);
  const networks = (env.NETWORKS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const missing = (['VNS3_PASSWORD', 'BRIDGE_PSK', 'NETWORKS'] as const).filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`VNS3_HOSTS is set, so these are needed too: ${missing.join(', ')}`);
  if (hosts.length !== 2 || networks.length !== 2) throw new Error('VNS3_HOSTS and NETWORKS need two entries each: the AWS side, then the Azure side');
  const pins = env.VNS3_FINGERPRINTS?.split(',').map((s) => s.trim());
  const [aws, azure] = connectControllers(
    hosts.map((host, i) => ({ host, ...(pins?.[i] ? { fingerprint256: pins[i] } : {}) })),
    {
      password: env.VNS3_PASSWORD,
      ...(env.VNS3_CA_FILE ? { ca: readFileSync(env.VNS3_CA_FILE, 'utf8') } : {}),
      ...(env.VNS3_INSECURE === 'true' ? { insecure: true } : {}),
    },
  );
  return { aws: aws!, azure: azure!, networks: { aws: networks[0]!, azure: networks[1]! }, psk: env.BRIDGE_PSK!, describe: `${hosts[0]} (AWS) and ${hosts[1]} (Azure)` };
}

/** Two simulated controllers, each licensed as the edge of its own cloud's topology. */
async function simulated(onEvent: (e: Vns3Event) => void): Promise<Clouds> {
  const simulator = await startSimulator({ controllers: 2, subnets: ['172.31.1.0/24', '10.20.1.0/24'] });
  const [aws, azure] = simulator.connectAll();
  const edges = [
    { client: aws!, cloud: 'aws' },
    { client: azure!, cloud: 'azure' },
  ];
  await Promise.all(
    edges.map(({ client, cloud }) =>
      setupController(
        client,
        { topologyName: `${cloud}-topology`, controllerName: `${cloud}-edge`, license: simulator.license({ controllers: 1, topology: `${cloud}-topology` }), keysetToken: `${cloud}-keyset` },
        { onEvent },
      ),
    ),
  );
  return {
    aws: aws!,
    azure: azure!,
    networks: { aws: simulator.controllers[0]!.identity.vpcCidr, azure: simulator.controllers[1]!.identity.vpcCidr },
    psk: 'example-bridge-psk',
    describe: `2 simulated controllers on loopback (aws ${aws!.host}, azure ${azure!.host})`,
    simulator,
  };
}

const printer = createEventPrinter({ heartbeatMs: 3_000 });

async function bridge(clouds: Clouds, onEvent?: (e: Vns3Event) => void): Promise<void> {
  const result = await bridgeControllers(
    {
      name: 'aws-azure',
      psk: clouds.psk,
      a: { client: clouds.aws, networks: [clouds.networks.aws] },
      b: { client: clouds.azure, networks: [clouds.networks.azure] },
    },
    { onEvent, timeoutMs: 5 * 60_000 },
  );
  assertBulkOk(result, 'bridge AWS and Azure');
}

/** Each side's routes into the tunnel and what its IPsec status says. */
async function printRoutes(clouds: Clouds): Promise<void> {
  for (const [cloud, client] of [['aws', clouds.aws], ['azure', clouds.azure]] as const) {
    const status = Object.values(await client.get('/status/ipsec'));
    const routes = Object.values(await client.get('/routes')).filter((r) => r.tunnel !== undefined);
    console.log(`${cloud.padEnd(5)} ${client.host}`);
    for (const t of status) console.log(`  tunnel ${t.id} (${t.endpoint_name}): ${t.connected ? 'connected' : `down: ${t.tunnel_params?.phase1 ?? '?'}`}`);
    for (const r of routes) console.log(`  route ${r.cidr.padEnd(18)} → ${r.interface && r.interface !== '_notset' ? r.interface : `tunnel ${typeof r.tunnel === 'number' ? r.tunnel : r.tunnel?.id}`}`);
  }
}

async function main(): Promise<void> {
  const clouds = fromEnvironment(process.env) ?? (await simulated(printer.onEvent));
  console.log(`Bridging ${clouds.describe}`);
  try {
    const started = Date.now();
    await bridge(clouds, printer.onEvent);
    console.log(`\n── bridge is up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await printRoutes(clouds);
    const sim = clouds.simulator;
    if (sim) {
      // Offline, show idempotency at once: the same bridge again must not write anything.
      sim.resetCounters();
      await bridge(clouds);
      console.log(`\n── second run: ${sim.totalWrites()} write requests (everything was already in place)`);
      if (sim.totalWrites() !== 0) process.exitCode = 1;
    }
  } finally {
    await Promise.all([clouds.aws.close(), clouds.azure.close()]);
    await clouds.simulator?.stop();
    printer.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`\nmulticloud-bridge failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
