/**
 * HA failover: time from the primary's crash to the last route moved, for
 * aws, azure and overlay, at a 0.25 s and a 1 s interval with fall 3 and at the
 * plugin's default 15 s; and the number of false failovers in a bounded run with
 * 20% of probes lost. The agents run their real loop against the simulator and
 * the cloud emulators; the crash lands at a random point of the check grid,
 * as a real one would. Prints figures only (never pass/fail).
 *
 * Options: --quick (0.25 s and 1 s intervals only), --fast (0.25 s only), --runs N
 * (crashes per setting, default 3), --checks N (checks in the lossy run, default 1000).
 */
import { createHaAgent } from '../src/ha/index.js';
import { startHaBed } from '../src/testing/index.js';

type Cloud = 'aws' | 'azure' | 'overlay';

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

/** One crash: ms from crash to the failover's last write, and the agent's own detection figures. */
async function crashOnce(cloud: Cloud, intervalS: number): Promise<{ toLastRouteMs: number; detectMs: number; writeMs: number }> {
  // Three controllers: the third is the observer that cloud: overlay needs (and a cloud run uses too).
  const bed = await startHaBed({ controllers: 3, cloud });
  // The agent's own probe timeout (80% of the interval) and the real clock, not the tests' ones.
  const { probeTimeoutMs: _testTimeout, now: _testClock, ...deps } = bed.deps();
  const standby = createHaAgent(bed.standbyConfig(1, { check_interval: intervalS, fall: 3, rise: 3 }), deps);
  try {
    await standby.start();
    await bed.waitFor('standby sees a healthy primary', () => standby.status().health === 'healthy', intervalS * 1000 * 3 + 30_000); // the first check loads the cloud SDK
    // A crash lands anywhere between two checks.
    await new Promise((r) => setTimeout(r, Math.random() * intervalS * 1000));
    const crashedAt = Date.now();
    await bed.crash(0, 'stopped');
    await bed.waitFor('failover', () => standby.status().lastFailover !== undefined, intervalS * 1000 * 10 + 10_000);
    const f = standby.status().lastFailover!;
    const moved = f.cloudRoutes.filter((c) => c.action !== 'unchanged').length + f.vns3Routes.length;
    if (f.errors.length > 0 || moved === 0) throw new Error(`failover incomplete: ${f.errors.join('; ') || 'nothing moved'}`);
    return { toLastRouteMs: f.finishedAt - crashedAt, detectMs: f.detectedAt - crashedAt, writeMs: f.durationMs };
  } finally {
    await standby.stop();
    await bed.stop();
  }
}

async function lossyRun(checks: number): Promise<{ checks: number; lossyChecks: number; falseFailovers: number }> {
  const bed = await startHaBed({ controllers: 3, cloud: 'overlay' });
  const standby = createHaAgent(bed.standbyConfig(1, { check_interval: 0.25, fall: 3, rise: 3 }), bed.deps());
  try {
    // Two checks to see the primary healthy before the probes start getting lost.
    for (let i = 0; i < 2; i++) await standby.checkOnce();
    bed.sim.setFaults(0, { dropRate: 0.2 });
    bed.sim.setFaults(1, { dropRate: 0.2 });
    let lossy = 0;
    for (let i = 0; i < checks; i++) {
      const c = await standby.checkOnce();
      if (c.witnesses.some((w) => w.result !== 'up')) lossy++;
    }
    return { checks, lossyChecks: lossy, falseFailovers: standby.status().counters.failovers };
  } finally {
    await standby.stop();
    await bed.stop();
  }
}

const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export async function run(args: string[]): Promise<void> {
  const runs = arg(args, '--runs', 3);
  const intervals = args.includes('--fast') ? [0.25] : args.includes('--quick') ? [0.25, 1] : [0.25, 1, 15];
  /** The goal per interval: < 1 s at 0.25 s, < 4 s at 1 s (issue 11). */
  const goals: Record<number, number> = { 0.25: 1_000, 1: 4_000 };
  const rows: string[][] = [];
  for (const intervalS of intervals) {
    const measure = async (cloud: Cloud) => {
      const samples = [];
      for (let i = 0; i < (intervalS > 5 ? 1 : runs); i++) samples.push(await crashOnce(cloud, intervalS));
      return { cloud, samples };
    };
    const clouds = ['aws', 'azure', 'overlay'] as const;
    // From 1 s up the clouds run side by side (each has its own simulator and emulator); below, one
    // at a time: three beds on two cores would measure the CPU queue, not the agent, which in
    // production runs alone in its container.
    const results = intervalS < 1 ? await clouds.reduce(async (acc, c) => [...(await acc), await measure(c)], Promise.resolve([] as Awaited<ReturnType<typeof measure>>[])) : await Promise.all(clouds.map(measure));
    for (const { cloud, samples } of results) {
      const worst = samples.reduce((a, b) => (b.toLastRouteMs > a.toLastRouteMs ? b : a));
      const mean = samples.reduce((s, x) => s + x.toLastRouteMs, 0) / samples.length;
      const goal = goals[intervalS];
      const verdict = goal === undefined ? '-' : `${worst.toLastRouteMs < goal ? 'met' : 'MISSED'} (< ${goal / 1000} s)`;
      rows.push([cloud, `${intervalS} s / fall 3`, String(samples.length), fmt(mean), fmt(worst.toLastRouteMs), `${Math.round(worst.writeMs)} ms`, verdict]);
    }
  }
  const header = ['cloud', 'interval', 'runs', 'crash→last route (mean)', '(worst)', 'route writes', 'goal'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));

  const lossy = await lossyRun(arg(args, '--checks', 1000));
  console.log('');
  console.log(`20% probe loss (0.25 s / fall 3): ${lossy.checks} checks, ${lossy.lossyChecks} with a lost probe, false failovers: ${lossy.falseFailovers} (goal 0)`);
}
