/**
 * `npm run bench -- mesh [--sizes 4,16,64] [--scale 0.05]`
 *
 * Builds a peering mesh from fresh simulated controllers, the whole tutorial flow, for several mesh
 * sizes, with the simulator's 'realistic' timings scaled by one factor (our poll intervals are
 * scaled by the same factor, so the proportions are those of real controllers). Prints per phase
 * the wall time, the requests and the writes, and compares the wall time with the critical path:
 * the chain of waits no client can avoid (root reboot after licensing, keyset generation, keyset
 * fetch, the reboot after the fetch, a peer link coming up). Figures only; nothing passes or fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sleep } from '../src/abort.js';
import {
  assertBulkOk,
  createClient,
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  fetchKeysets,
  peerMesh,
  setPeerIds,
  setupController,
  waitForMesh,
  type RequestEvent,
  type Vns3Client,
} from '../src/index.js';
import { resolveTimings, type SimTimings } from '../src/testing/index.js';

const TOKEN = 'bench-mesh-token';
const SIM_BIN = fileURLToPath(new URL('../bin/vns3-sim.js', import.meta.url));

interface PhaseFigures {
  name: string;
  ms: number;
  requests: number;
  writes: number;
}

interface SimReport {
  license: string;
  controllers: { host: string; password: string; fingerprint256: string; privateIp: string; subnet: string }[];
}

function criticalPathMs(t: SimTimings): number {
  const reboot = t.rebootOutageMs + t.reboot5xxMs;
  return reboot + t.keysetGenerationMs + t.keysetFetchMs + (t.rebootAfterFetch ? t.fetchRebootDelayMs + reboot : 0) + t.peerLinkUpMs;
}

/**
 * The controllers run in a `vns3-sim` child process: real controllers are other machines, and
 * sharing one thread with the macros would measure the simulator's CPU as if it were the SDK's.
 */
async function startSimProcess(size: number, scale: number): Promise<{ child: ChildProcess; report: SimReport }> {
  const child = spawn(process.execPath, [SIM_BIN, '--controllers', String(size), '--profile', 'realistic', '--scale', String(scale), '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  const report = await new Promise<SimReport>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('vns3-sim did not start within 120 s')), 120_000);
    child.once('exit', (code) => reject(new Error(`vns3-sim exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      try {
        const parsed = JSON.parse(text) as SimReport;
        clearTimeout(timer);
        resolve(parsed);
      } catch {
        // the document is not complete yet
      }
    });
  });
  return { child, report };
}

async function stopSimProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function buildMesh(size: number, scale: number): Promise<{ phases: PhaseFigures[]; wallMs: number; criticalMs: number }> {
  const { child, report } = await startSimProcess(size, scale);
  // Requests and writes are counted from the client side: every attempt the SDK makes. The
  // controllers live in another process, so the clients are built from its report, pinned alike.
  const counts = { requests: 0, writes: 0 };
  const onRequest = (e: RequestEvent): void => {
    counts.requests++;
    if (e.method !== 'GET') counts.writes++;
  };
  const clients: Vns3Client[] = report.controllers.map((c) =>
    createClient({ host: c.host, password: c.password, fingerprint256: c.fingerprint256, timeoutMs: 30_000, onRequest }),
  );
  const license = await readFile(report.license, 'utf8');
  // Waits poll at the real defaults (250 ms first, 5 s cap) times the same factor as the timings.
  const wait = { intervalMs: Math.max(2, 250 * scale), maxIntervalMs: Math.max(20, 5_000 * scale) };
  const bulk = { concurrency: size };
  const subnets = report.controllers.map((c) => c.subnet);
  const [root, ...others] = clients;
  const phases: PhaseFigures[] = [];
  const phase = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    counts.requests = 0;
    counts.writes = 0;
    const started = performance.now();
    await fn();
    phases.push({ name, ms: performance.now() - started, ...counts });
  };
  try {
    const started = performance.now();
    await phase('setup root', () =>
      setupController(root!, { topologyName: 'bench', license, licenseParameters: { default: true }, keysetToken: TOKEN }, {
        intervalMs: wait.intervalMs,
        reboot: { maxIntervalMs: wait.maxIntervalMs },
      }),
    );
    await phase('fetch keysets', async () =>
      assertBulkOk(
        await fetchKeysets(others, { source: report.controllers[0]!.privateIp, token: TOKEN }, { ...wait, ...bulk, reboot: { maxIntervalMs: wait.maxIntervalMs } }),
        'fetch keysets',
      ),
    );
    await phase('peer ids', async () => assertBulkOk(await setPeerIds(clients, bulk), 'set peer ids'));
    await phase('peer routes', async () => assertBulkOk(await createPeerMeshLocalGatewayRoutes(clients, { subnets }, bulk), 'peer routes'));
    await phase('peer mesh', async () => assertBulkOk(await peerMesh(clients, bulk), 'peer mesh'));
    await phase('advertisements', async () => assertBulkOk(await createRouteAdvertisements(clients, { subnets }, bulk), 'advertise'));
    await phase('wait for mesh', () => waitForMesh(clients, { ...wait, ...bulk, timeoutMs: 600_000 }));
    return { phases, wallMs: performance.now() - started, criticalMs: criticalPathMs(resolveTimings('realistic', scale)) };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stopSimProcess(child);
  }
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { sizes: { type: 'string', default: '4,16,64' }, scale: { type: 'string', default: '0.05' } } });
  const sizes = values.sizes.split(',').map(Number);
  const scale = Number(values.scale);
  console.log(`mesh benchmark: 'realistic' controller timings scaled by ${scale} (a 90 s reboot takes ${seconds(90_000 * scale)} s); poll intervals scaled alike`);
  const results: { size: number; wallMs: number; criticalMs: number }[] = [];
  for (const size of sizes) {
    const r = await buildMesh(size, scale);
    results.push({ size, wallMs: r.wallMs, criticalMs: r.criticalMs });
    console.log(`\n${size} controllers: wall ${seconds(r.wallMs)} s, critical path ${seconds(r.criticalMs)} s, ratio ${(r.wallMs / r.criticalMs).toFixed(2)}`);
    console.log(`  ${'phase'.padEnd(16)}${'wall s'.padStart(9)}${'requests'.padStart(10)}${'writes'.padStart(9)}`);
    for (const p of r.phases) console.log(`  ${p.name.padEnd(16)}${seconds(p.ms).padStart(9)}${String(p.requests).padStart(10)}${String(p.writes).padStart(9)}`);
  }
  const base = results[0];
  console.log('\nsummary');
  console.log(`  ${'controllers'.padEnd(12)}${'wall s'.padStart(9)}${'critical s'.padStart(12)}${'wall/critical'.padStart(15)}${`wall/wall(${base?.size})`.padStart(14)}`);
  for (const r of results) {
    console.log(`  ${String(r.size).padEnd(12)}${seconds(r.wallMs).padStart(9)}${seconds(r.criticalMs).padStart(12)}${(r.wallMs / r.criticalMs).toFixed(2).padStart(15)}${(r.wallMs / (base?.wallMs ?? r.wallMs)).toFixed(2).padStart(14)}`);
  }
}
