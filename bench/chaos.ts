/**
 * `npm run bench -- chaos [--controllers 16] [--seeds 1,2,3] [--profiles heavy,mild] [--timeout-s 240]`
 *
 * The flow of examples/peering-mesh.ts (root setup, keyset fetch, peer ids, peer routes, peering,
 * advertisements, wait for the mesh) on simulated controllers under injected faults, each macro
 * called ONCE. Profiles: heavy = 20% 503s, 10% dropped connections, 2% hanging requests, plus one
 * reboot and one crash/restore mid-flow; mild = 3% / 1% / 0.2%. Per seed it prints whether every
 * macro converged and the mesh read back equals the fault-free one, the requests sent, the writes
 * received, the POSTs sent again after a read showed they had not landed, duplicates found on
 * read-back (must be 0), the writes of a clean second run (must be 0) and the time. Figures only.
 */
import { parseArgs } from 'node:util';
import { sleep } from '../src/abort.js';
import {
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  fetchKeysets,
  fetchStates,
  peerMesh,
  setPeerIds,
  setupController,
  waitForMesh,
  type BulkResult,
  type RequestEvent,
  type Vns3Client,
} from '../src/index.js';
import { startSimulator, type Simulator } from '../src/testing/index.js';

const PROFILES = {
  heavy: { errorRate: 0.2, dropRate: 0.1, hangRate: 0.02, events: true },
  mild: { errorRate: 0.03, dropRate: 0.01, hangRate: 0.002, events: false },
} as const;
type ProfileName = keyof typeof PROFILES;

const TOKEN = 'chaos-keyset-token';
const POLL = { intervalMs: 25, maxIntervalMs: 250 };
const REBOOT = { ...POLL, rebootStartTimeoutMs: 2_000 };

interface Counters {
  requests: number;
  posts: number;
  postsFailed: number;
}

interface SeedFigures {
  profile: ProfileName;
  seed: number;
  converged: boolean;
  failedMacros: string[];
  requests: number;
  writes: number;
  resentPosts: number;
  duplicates: number;
  wrong: number;
  secondRunWrites: number;
  seconds: number;
  /** Seconds per macro, in flow order. */
  phases: [string, number][];
}

function countingClients(sim: Simulator, counters: Counters): Vns3Client[] {
  const onRequest = (e: RequestEvent): void => {
    counters.requests++;
    if (e.method !== 'POST') return;
    counters.posts++;
    if (e.status === undefined || e.status >= 500) counters.postsFailed++;
  };
  // A short attempt limit, so that a hanging request costs seconds, not the default 30 s.
  return sim.connectAll({ timeoutMs: 1_500, onRequest });
}

/** The flow, each macro once; returns the names of the macros that did not converge. */
async function flow(sim: Simulator, clients: Vns3Client[], signal: AbortSignal, onPhase: (phase: string) => void, phases: [string, number][] = []): Promise<string[]> {
  const failed: string[] = [];
  const bulk = async (name: string, run: () => Promise<BulkResult<unknown>>): Promise<void> => {
    onPhase(name);
    const started = Date.now();
    try {
      const result = await run();
      if (result.failed.length > 0) failed.push(`${name} (${result.failed.length}: ${result.failed[0]!.error.message.split('\n')[0]})`);
    } catch (error) {
      failed.push(`${name} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    }
    phases.push([name, (Date.now() - started) / 1000]);
  };
  const [root, ...others] = clients;
  const options = { signal, ...POLL };
  await bulk('setupController', async () => {
    await setupController(root!, { topologyName: 'chaos-mesh', license: sim.license(), keysetToken: TOKEN, waitTimeoutMs: 60_000 }, { ...options, reboot: REBOOT });
    return { succeeded: [], failed: [] };
  });
  const source = sim.controllers[0]!.identity.privateIp;
  await bulk('fetchKeysets', () => fetchKeysets(others, { source, token: TOKEN }, { ...options, timeoutMs: 60_000, reboot: REBOOT }));
  await bulk('setPeerIds', () => setPeerIds(clients, options));
  const subnets = sim.controllers.map((c) => c.identity.subnet);
  await bulk('createPeerMeshLocalGatewayRoutes', () => createPeerMeshLocalGatewayRoutes(clients, { subnets }, options));
  await bulk('peerMesh', () => peerMesh(clients, options));
  await bulk('createRouteAdvertisements', () => createRouteAdvertisements(clients, { subnets }, options));
  await bulk('waitForMesh', async () => {
    await waitForMesh(clients, { ...options, timeoutMs: 120_000 });
    return { succeeded: [], failed: [] };
  });
  return failed;
}

/** Reads every controller back (faults off) and compares with the fault-free mesh: duplicates and wrong entries. */
async function readBack(sim: Simulator, clients: Vns3Client[]): Promise<{ duplicates: number; wrong: number }> {
  let duplicates = 0;
  let wrong = 0;
  const states = await fetchStates(clients, { refresh: true });
  const ips = states.succeeded.map((s) => s.value.privateIp);
  wrong += states.failed.length;
  for (const [i, client] of clients.entries()) {
    const peering = await client.get('/peering');
    if (peering.id !== i + 1) wrong++;
    const peers = Object.values(peering.controllers ?? peering.managers ?? {}).filter((m) => !m.self && !m.not_set);
    if (peers.length !== clients.length - 1) wrong++;
    const routes = Object.values(await client.get('/routes')).filter((r) => r.editable !== false);
    const keys = routes.map((r) => `${r.cidr}|${r.interface ?? ''}|${r.gateway ?? ''}|${r.advertise === true}|${r.table ?? 'main'}`);
    duplicates += keys.length - new Set(keys).size;
    const hostRoutes = new Set(routes.filter((r) => r.cidr.endsWith('/32')).map((r) => r.cidr));
    for (const ip of ips) if (ip !== ips[i] && !hostRoutes.has(`${ip}/32`)) wrong++;
    if (!routes.some((r) => r.advertise === true && r.cidr === sim.controllers[i]!.identity.subnet)) wrong++;
    const keyset = await client.get('/keyset');
    if (!keyset.keyset_present) wrong++;
  }
  return { duplicates, wrong };
}

async function runSeed(profile: ProfileName, seed: number, controllers: number, timeoutS: number): Promise<SeedFigures> {
  const sim = await startSimulator({ controllers, seed });
  const counters: Counters = { requests: 0, posts: 0, postsFailed: 0 };
  const clients = countingClients(sim, counters);
  const faults = PROFILES[profile];
  const started = Date.now();
  const pending: Promise<unknown>[] = [];
  try {
    for (let i = 0; i < controllers; i++) sim.setFaults(i, { errorRate: faults.errorRate, dropRate: faults.dropRate, hangRate: faults.hangRate });
    const onPhase = (phase: string): void => {
      if (!faults.events) return;
      // One reboot and one crash/restore, mid-flow, on controllers other than the root.
      if (phase === 'createPeerMeshLocalGatewayRoutes') pending.push(sleep(50).then(() => sim.reboot(controllers - 1)));
      if (phase === 'peerMesh') pending.push(sleep(30).then(() => sim.crash(1)).then(() => sleep(1_500)).then(() => sim.restore(1)));
    };
    const phases: [string, number][] = [];
    const failedMacros = await flow(sim, clients, AbortSignal.timeout(timeoutS * 1000), onPhase, phases);
    await Promise.all(pending);
    const writes = sim.totalWrites();
    const requests = counters.requests;
    const resentPosts = counters.postsFailed;
    sim.clearFaults();
    const seconds = (Date.now() - started) / 1000;
    const { duplicates, wrong } = await readBack(sim, clients);
    sim.resetCounters();
    const again = await flow(sim, clients, AbortSignal.timeout(timeoutS * 1000), () => undefined);
    const secondRunWrites = sim.totalWrites();
    const converged = failedMacros.length === 0 && wrong === 0 && again.length === 0;
    return { profile, seed, converged, failedMacros, requests, writes, resentPosts, duplicates, wrong, secondRunWrites, seconds, phases };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await sim.stop();
  }
}

function print(rows: SeedFigures[]): void {
  const head = ['profile', 'seed', 'converged', 'requests', 'writes', 're-sent POSTs', 'duplicates', 'wrong', '2nd-run writes', 'time'];
  const table = rows.map((r) => [r.profile, String(r.seed), r.converged ? 'yes' : 'NO', String(r.requests), String(r.writes), String(r.resentPosts), String(r.duplicates), String(r.wrong), String(r.secondRunWrites), `${r.seconds.toFixed(1)} s`]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const t of table) console.log(line(t));
  for (const r of rows) for (const m of r.failedMacros) console.log(`  ${r.profile} seed ${r.seed}: did not converge: ${m}`);
}

/** Entry point for bench/run.ts. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      controllers: { type: 'string', default: '16' },
      seeds: { type: 'string', default: '1,2,3' },
      profiles: { type: 'string', default: 'heavy,mild' },
      'timeout-s': { type: 'string', default: '240' },
    },
  });
  const controllers = Number(values.controllers);
  const seeds = values.seeds.split(',').map(Number);
  const profiles = values.profiles.split(',') as ProfileName[];
  for (const p of profiles) if (!(p in PROFILES)) throw new Error(`unknown profile ${p}; known: ${Object.keys(PROFILES).join(', ')}`);
  console.log(`chaos: ${controllers} controllers, profiles ${profiles.join(', ')}, seeds ${seeds.join(', ')}; each macro called once per run`);
  const rows: SeedFigures[] = [];
  for (const profile of profiles) {
    for (const seed of seeds) {
      const row = await runSeed(profile, seed, controllers, Number(values['timeout-s']));
      const phases = row.phases.map(([name, s]) => `${name} ${s.toFixed(1)}`).join(', ');
      console.log(`  ${profile} seed ${seed}: ${row.converged ? 'converged' : 'did NOT converge'} in ${row.seconds.toFixed(1)} s (${phases})`);
      rows.push(row);
    }
  }
  console.log('');
  print(rows);
}
