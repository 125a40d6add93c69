/**
 * Setting up a 4-controller mesh: our macros (parallel fetch, backoff polls
 * that return as soon as the API is up) against a baseline that does what
 * the Python SDK does (10 healthy pings 1.5 s apart after every reboot, one
 * keyset fetch at a time, re-PUT every 2 s to detect a failed fetch). Both run
 * against the simulator with the 'realistic' profile scaled down by the same
 * factor, which also scales the baseline's fixed sleeps. Prints figures only.
 */
import { createClient, Vns3ApiError, type Vns3Client } from '../src/client/index.js';
import { fetchKeysets, setupController } from '../src/macros/index.js';
import { sleep } from '../src/abort.js';
import { startSimulator, type Simulator } from '../src/testing/simulator/index.js';

const TOKEN = 'bench-keyset-token';

function clientsFor(sim: Simulator): Vns3Client[] {
  return sim.controllers.map((c) =>
    createClient({ host: c.host, password: c.password, fingerprint256: c.fingerprint256, timeoutMs: 10_000, retry: { retries: 8, minTimeoutMs: 50, maxTimeoutMs: 1_000 } }),
  );
}

async function ours(sim: Simulator, clients: Vns3Client[], scale: number): Promise<void> {
  const [root, ...peers] = clients;
  await setupController(root!, { topologyName: 'bench', license: sim.license({ controllers: clients.length }), keysetToken: TOKEN, peerId: 1 }, { intervalMs: Math.max(20, 250 * scale) });
  const r = await fetchKeysets(peers, { source: sim.controllers[0]!.identity.privateIp, token: TOKEN }, { intervalMs: Math.max(20, 250 * scale) });
  if (r.failed.length > 0) throw new Error(`fetch failed: ${r.failed.map((f) => f.error.message).join('; ')}`);
}

/** The Python SDK's flow, written out here so that the comparison runs against the same simulator. */
async function baseline(sim: Simulator, clients: Vns3Client[], scale: number): Promise<void> {
  const ping = 1_500 * scale;
  const keysetPoll = 2_000 * scale;
  const up = async (c: Vns3Client): Promise<boolean> =>
    c.get('/config', { retry: false, timeoutMs: 2_000 }).then(() => true, () => false);
  const waitForApi = async (c: Vns3Client): Promise<void> => {
    // Wait to see it go down, then ten healthy pings in a row, 1.5 s apart.
    for (let i = 0; i < 200 && (await up(c)); i++) await sleep(ping / 3);
    for (let healthy = 0, i = 0; healthy < 10 && i < 10_000; i++) {
      healthy = (await up(c)) ? healthy + 1 : 0;
      if (healthy < 10) await sleep(ping);
    }
  };
  const waitForKeyset = async (c: Vns3Client): Promise<void> => {
    for (let i = 0; i < 10_000; i++) {
      const k = await c.get('/keyset').catch(() => undefined);
      if (k?.keyset_present) return;
      await sleep(keysetPoll);
    }
  };
  const [root, ...peers] = clients;
  await root!.get('/config');
  await root!.put('/config', { body: { topology_name: 'bench' } });
  await root!.put('/license', { body: sim.license({ controllers: clients.length }) });
  await root!.put('/license/parameters', { body: { default: true } });
  await waitForApi(root!);
  await root!.put('/keyset', { body: { token: TOKEN } });
  await waitForKeyset(root!);
  await root!.put('/peering/self', { body: { id: 1 } });
  const source = sim.controllers[0]!.identity.privateIp;
  for (const peer of peers) {
    const first = await peer.put('/keyset', { body: { token: TOKEN, source } });
    for (let i = 0; i < 10_000; i++) {
      await sleep(keysetPoll);
      try {
        const again = await peer.put('/keyset', { body: { token: TOKEN, source }, retry: false });
        if (again.started_at_i !== first.started_at_i) throw new Error('fetch failed');
      } catch (e) {
        if (e instanceof Vns3ApiError && e.apiMessage === 'Keyset setup in progress.') continue;
        if (e instanceof Vns3ApiError && e.apiMessage !== 'Keyset already exists.' && e.status < 500) throw e;
        await waitForApi(peer);
        await waitForKeyset(peer);
        break;
      }
    }
  }
}

async function timed(
  label: string,
  profile: 'fast' | 'realistic',
  scale: number,
  fn: (sim: Simulator, clients: Vns3Client[], scale: number) => Promise<void>,
): Promise<number> {
  const sim = await startSimulator({ controllers: 4, profile, scale: profile === 'fast' ? 1 : scale });
  const clients = clientsFor(sim);
  try {
    const started = performance.now();
    await fn(sim, clients, scale);
    const ms = performance.now() - started;
    if (!sim.controllers.every((c) => c.licensed)) throw new Error(`${label}: not every controller ended licensed`);
    console.log(`  ${label.padEnd(34)} ${(ms / 1000).toFixed(2).padStart(8)} s   (${sim.totalWrites()} writes)`);
    return ms;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await sim.stop();
  }
}

export async function run(args: string[]): Promise<void> {
  const at = args.indexOf('--scale');
  const scale = at >= 0 ? Number(args[at + 1]) : 0.02;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`--scale must be a positive number, got ${String(args[at + 1])}`);

  // 1. As the Python SDK runs today: its fixed 1.5 s health pings and serial fetches, against
  //    simulated controllers with the simulator's default (fast) timings.
  console.log('setup (fast simulator timings): root setupController + 3 keyset fetches; baseline with real 1.5 s pings, 2 s keyset polls');
  const mineFast = await timed('vns3-sdk (parallel, backoff)', 'fast', 1, ours);
  const theirsFast = await timed('baseline (Python SDK flow)', 'fast', 1, baseline);
  console.log(`  ours takes ${((mineFast / theirsFast) * 100).toFixed(1)} % of the baseline's time (${(theirsFast / mineFast).toFixed(1)}x faster)`);

  // 2. With a real controller's proportions (minutes-long reboots) scaled down, the baseline's
  //    sleeps scaled by the same factor: what the difference amounts to on real controllers.
  console.log(`\nsetup ('realistic' timings scaled by ${scale}): the baseline's sleeps scaled alike`);
  console.log(`  (reboot ≈ ${((90_000 + 20_000) * scale / 1000).toFixed(2)} s, keyset generation ${(30_000 * scale / 1000).toFixed(2)} s, fetch ${(20_000 * scale / 1000).toFixed(2)} s; baseline pings every ${(1.5 * scale).toFixed(3)} s)`);
  const mine = await timed('vns3-sdk (parallel, backoff)', 'realistic', scale, ours);
  const theirs = await timed('baseline (Python SDK flow)', 'realistic', scale, baseline);
  console.log(`  speed-up: ${(theirs / mine).toFixed(2)}x  (unscaled estimate: ours ${(mine / scale / 60_000).toFixed(1)} min vs baseline ${(theirs / scale / 60_000).toFixed(1)} min)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
