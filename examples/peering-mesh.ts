/**
 * The multi-region peering mesh tutorial, end to end:
 *   set up the root controller (license, keyset), fetch the keyset on the others, set peer ids,
 *   add /32 routes to every peer via the local subnet gateway, peer every controller with every
 *   other, advertise each controller's subnet, wait until the mesh is up, print what each learned.
 *
 * Offline (no environment): runs against 4 simulated controllers on loopback.
 *   npx tsx examples/peering-mesh.ts
 * Against real controllers:
 *   VNS3_HOSTS=ctl1:8000,ctl2:8000,… VNS3_PASSWORD=… LICENSE_FILE=license.txt KEYSET_TOKEN=… \
 *   SUBNETS=10.0.1.0/24,10.0.2.0/24,… [VNS3_FINGERPRINTS=AB:CD…,… | VNS3_CA_FILE=ca.pem | VNS3_INSECURE=true] \
 *   npx tsx examples/peering-mesh.ts
 * Run it twice: the second run finds everything in place and writes nothing.
 */
import { readFileSync } from 'node:fs';
import {
  createEventPrinter,
  connectControllers,
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  fetchKeysets,
  fetchStates,
  peerMesh,
  setPeerIds,
  setupController,
  waitForMesh,
  assertBulkOk,
  type Vns3Client,
  type Vns3Event,
} from '../src/index.js';
import { startSimulator, type Simulator } from '../src/testing/index.js';

interface Topology {
  clients: Vns3Client[];
  subnets: string[];
  license: string;
  keysetToken: string;
  describe: string;
  simulator?: Simulator;
}

function fromEnvironment(env: NodeJS.ProcessEnv): Topology | undefined {
  if (!env.VNS3_HOSTS) return undefined;
  const hosts = env.VNS3_HOSTS.split(',').map((h) => h.trim()).filter(Boolean);
  const required = ['VNS3_PASSWORD', 'LICENSE_FILE', 'KEYSET_TOKEN', 'SUBNETS'] as const;
  const missing = required.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`VNS3_HOSTS is set, so these are needed too: ${missing.join(', ')}`);
  const subnets = (env.SUBNETS ?? '').split(',').map((s) => s.trim());
  if (subnets.length !== hosts.length) throw new Error(`SUBNETS has ${subnets.length} entries for ${hosts.length} hosts`);
  const pins = env.VNS3_FINGERPRINTS?.split(',').map((s) => s.trim());
  const clients = connectControllers(
    hosts.map((host, i) => ({ host, ...(pins?.[i] ? { fingerprint256: pins[i] } : {}) })),
    {
      password: env.VNS3_PASSWORD,
      ...(env.VNS3_CA_FILE ? { ca: readFileSync(env.VNS3_CA_FILE, 'utf8') } : {}),
      ...(env.VNS3_INSECURE === 'true' ? { insecure: true } : {}),
    },
  );
  return {
    clients,
    subnets,
    license: readFileSync(env.LICENSE_FILE as string, 'utf8'),
    keysetToken: env.KEYSET_TOKEN as string,
    describe: `${hosts.length} controllers from VNS3_HOSTS`,
  };
}

async function simulated(): Promise<Topology> {
  const simulator = await startSimulator({ controllers: 4 });
  // Each client pinned to its controller's self-signed certificate, as connectControllers does for real ones.
  const clients = simulator.connectAll();
  return {
    clients,
    subnets: simulator.controllers.map((c) => c.identity.subnet),
    license: simulator.license(),
    keysetToken: 'example-keyset-token',
    describe: `4 simulated controllers on loopback (${simulator.controllers.map((c) => c.host).join(', ')})`,
    simulator,
  };
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

async function printMesh(clients: Vns3Client[]): Promise<void> {
  const states = assertBulkOk(await fetchStates(clients, { refresh: true }), 'read controller state');
  const rows: string[][] = [['controller', 'peer id', 'private ip', 'peers (reachable)', 'learned routes']];
  for (const [i, client] of clients.entries()) {
    const state = states[i]!;
    const peering = await client.get('/peering');
    const links = Object.values(peering.managers ?? {})
      .filter((m) => !m.self && !m.not_set)
      .map((m) => `${m.id}${m.reachable ? '✓' : '✗'}`);
    const routes = await client.get('/routes');
    const learned = Object.values(routes)
      .filter((r) => r.editable === false)
      .map((r) => r.cidr)
      .sort();
    rows.push([client.host, String(state.peerId ?? '-'), state.privateIp, links.join(' '), learned.join(', ')]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  for (const [n, row] of rows.entries()) {
    console.log(row.map((cell, col) => cell.padEnd(widths[col]!)).join('  '));
    if (n === 0) console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  }
}

/** The tutorial's whole flow; every step is idempotent, so running it again writes nothing. */
async function buildMesh(topology: Topology, onEvent?: (e: Vns3Event) => void): Promise<void> {
  const { clients, subnets } = topology;
  const [root, ...others] = clients;
  if (!root || others.length === 0) throw new Error('a mesh needs at least two controllers');
  const options = { onEvent, signal: AbortSignal.timeout(15 * 60_000) };
  const say = onEvent ? phase : () => undefined;

  say('1. root controller: license, parameters, reboot, keyset');
  await setupController(
    root,
    { topologyName: 'example-mesh', license: topology.license, licenseParameters: { default: true }, keysetToken: topology.keysetToken },
    options,
  );

  say('2. the others fetch the keyset from the root, in parallel');
  const [rootState] = assertBulkOk(await fetchStates([root]), 'read root state');
  assertBulkOk(await fetchKeysets(others, { source: rootState!.privateIp, token: topology.keysetToken }, options), 'fetch keysets');

  say('3. peer ids, by the order of the controllers');
  assertBulkOk(await setPeerIds(clients, options), 'set peer ids');

  say('4. /32 routes to every peer via the local subnet gateway');
  assertBulkOk(await createPeerMeshLocalGatewayRoutes(clients, { subnets }, options), 'create peer routes');

  say('5. the peering mesh');
  assertBulkOk(await peerMesh(clients, options), 'peer the mesh');

  say('6. route advertisements for each subnet');
  assertBulkOk(await createRouteAdvertisements(clients, { subnets }, options), 'advertise subnets');

  say('7. waiting until every link is up');
  await waitForMesh(clients, { ...options, timeoutMs: 5 * 60_000 });
}

async function main(): Promise<void> {
  const topology = fromEnvironment(process.env) ?? (await simulated());
  const started = Date.now();
  console.log(`Building a peering mesh of ${topology.describe}`);
  try {
    await buildMesh(topology, progress);
    phase(`mesh is up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await printMesh(topology.clients);
    const sim = topology.simulator;
    if (sim) {
      // Offline, show idempotency at once: the same flow again must not write anything.
      sim.resetCounters();
      await buildMesh(topology);
      phase(`second run: ${sim.totalWrites()} write requests (everything was already in place)`);
    }
  } finally {
    await Promise.all(topology.clients.map((c) => c.close()));
    await topology.simulator?.stop();
    printer.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`\npeering-mesh failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
