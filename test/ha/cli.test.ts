import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHaBed, type HaBed } from '../../src/testing/index.js';

const BIN = fileURLToPath(new URL('../../bin/vns3-ha.js', import.meta.url));
const ENTRYPOINT = fileURLToPath(new URL('../../docker/ha/entrypoint.sh', import.meta.url));

interface Run {
  code: number | null;
  /** What `during` returned, run once `stopWhen` held and before the SIGTERM. */
  during?: unknown;
  lines: Record<string, unknown>[];
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, stopWhen?: (line: Record<string, unknown>) => boolean, during?: () => Promise<unknown>, command: string[] = [process.execPath, BIN]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, [...command.slice(1), ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    let seen = 0;
    let duringResult: unknown;
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      const complete = stdout.split('\n').slice(0, -1);
      const fresh = complete.slice(seen);
      seen = complete.length;
      if (stopWhen && !signalled && fresh.some((l) => l.startsWith('{') && stopWhen(JSON.parse(l)))) {
        signalled = true;
        const stop = (): void => void child.kill('SIGTERM');
        if (!during) stop();
        else during().then((v) => (duringResult = v), (e: unknown) => (duringResult = e)).finally(stop);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(kill);
      const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, lines, stdout, stderr, during: duringResult });
    });
  });
}

/** For the single-check (`--once`) runs: a long interval, hence generous probe timeouts. */
const onceEnv = (): Record<string, string> => ({ HAENV_CHECK_INTERVAL: '5' });

let bed: HaBed;
let dir: string;
let vars: string;

beforeAll(async () => {
  bed = await startHaBed({ controllers: 3, cloud: 'overlay' });
  dir = await mkdtemp(join(tmpdir(), 'vns3-ha-cli-'));
  vars = join(dir, 'vars.yml');
  const cfg = bed.standbyConfig(1);
  await writeFile(
    vars,
    dump({
      mode: 'secondary',
      cloud: 'overlay',
      peer_public_ip: cfg.peerPublicIp,
      my_underlay_ip: cfg.myUnderlayIp,
      peer_underlay_ip: cfg.peerUnderlayIp,
      peer_overlay_ip: cfg.peerOverlayIp,
      my_api_url: cfg.myApiUrl,
      peer_api_url: cfg.peerApiUrl,
      peer_public_api_url: cfg.peerPublicApiUrl,
      ca_file: bed.caFile,
      check_interval: 0.1,
      observers: cfg.observers.map((o) => ({ name: o.name, api_url: o.apiUrl, api_password: o.apiPassword })),
    }),
  );
}, 60_000);

afterAll(async () => {
  await bed.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('vns3-ha command', () => {
  it('prints usage with --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--dry-run/);
  });

  it('reports configuration problems as one JSON line on stderr when piped and exits 2, secrets withheld', async () => {
    const r = await run(['--config', vars, '--once'], { HAENV_MY_API_PASSWORD: 'top-secret-1', HAENV_FALL: 'zero' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const errLines = r.stderr.trim().split('\n');
    expect(errLines).toHaveLength(1);
    const err = JSON.parse(errLines[0]!) as { step: string; detail: string; data: { configFile: string } };
    expect(err.step).toBe('ha.config');
    expect(err.detail).toMatch(/fall \(HAENV_FALL\) = "zero": must be a whole number/);
    expect(err.detail).toMatch(/peer_api_password/);
    expect(err.data.configFile).toBe(vars);
    expect(r.stderr).not.toContain('top-secret-1');
  });

  it('in text format reports every problem at once, unknown keys, allowed values and the file it looked for', async () => {
    const typo = join(dir, 'typo.yml');
    await writeFile(typo, 'mdoe: secondary\npeer_public_ip: 10.0.0.1\n');
    const r = await run(['--config', typo, '--format', 'text', '--once']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^vns3-ha: Invalid HA configuration/);
    expect(r.stderr).toMatch(/mode \(HAENV_MODE\): is required \(primary or secondary\)/);
    expect(r.stderr).toMatch(/cloud \(HAENV_CLOUD\): is required \(one of aws, azure, overlay\)/);
    expect(r.stderr).toMatch(/note: unknown HA setting mdoe \(from .*typo\.yml\) ignored; did you mean mode\?/);
    expect(r.stderr).toContain(`settings from ${typo}`);
    expect(r.stderr).not.toContain('\\n');

    const none = await run(['--format', 'text', '--once']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no config file at /opt/hacontainer/conf/vars.yml');
  });

  it('refuses an unknown option or format with the usage text on stderr', async () => {
    const r = await run(['--confg', vars]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^vns3-ha: Unknown option '--confg'/);
    expect(r.stderr).toContain('Usage: vns3-ha');
    const f = await run(['--format', 'yaml']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/--format must be text or json/);
  });

  it('--dry-run --once logs the check and the plan and changes nothing', async () => {
    bed.sim.resetCounters();
    // One check decides the verdict here: a check interval of 5 s gives each probe 4 s (not 0.5 s), so
    // that a busy machine (a fresh process's first TLS handshakes) cannot turn it into a split.
    const env = { ...onceEnv(), HAENV_MY_API_PASSWORD: bed.sim.controllers[1]!.password, HAENV_PEER_API_PASSWORD: bed.sim.controllers[0]!.password };
    const r = await run(['--config', vars, '--dry-run', '--once'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines[0]?.step).toBe('ha.config');
    expect(r.lines[0]?.detail).toBe(`settings from ${vars} and HAENV_* variables`);
    const check = r.lines.find((l) => l.step === 'ha.check');
    expect((check?.data as { verdict: string }).verdict).toBe('up');
    const plan = r.lines.find((l) => l.step === 'ha.plan');
    expect((plan?.data as { vns3Routes: { cidr: string }[] }).vns3Routes.map((x) => x.cidr)).toEqual(['192.168.10.0/24']);
    expect(bed.sim.totalWrites()).toBe(0);
    expect(r.stdout).not.toContain(bed.sim.controllers[0]!.password);
  });

  it('--once with both passwords wrong reports each at once and exits 1', async () => {
    const env = { HAENV_MY_API_PASSWORD: 'wrong-secret-a', HAENV_PEER_API_PASSWORD: 'wrong-secret-b' };
    const r = await run(['--config', vars, '--once'], env);
    expect(r.code).toBe(1);
    const errors = r.lines.filter((l) => l.step === 'ha.config.error').map((l) => String(l.detail));
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(/^peer_api_password: /), expect.stringMatching(/^my_api_password: /)]));
    expect(r.stdout).not.toMatch(/wrong-secret-[ab]/);
  });

  it('writes human-readable lines with --format text', async () => {
    const env = { ...onceEnv(), HAENV_MY_API_PASSWORD: bed.sim.controllers[1]!.password, HAENV_PEER_API_PASSWORD: bed.sim.controllers[0]!.password };
    const r = await run(['--config', vars, '--dry-run', '--once', '--format', 'text'], env);
    expect(r.code).toBe(0);
    expect(r.lines).toHaveLength(0);
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d INFO  ha\.config: settings from /m);
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d INFO  ha\.check/m);
  });

  it('--metrics-port serves /healthz and /metrics on 127.0.0.1 while it runs (JSON logs through pino)', async () => {
    const env = { HAENV_MY_API_PASSWORD: bed.sim.controllers[1]!.password, HAENV_PEER_API_PASSWORD: bed.sim.controllers[0]!.password };
    let url: string | undefined;
    let checks = 0;
    const r = await run(['--config', vars, '--metrics-port', '0'], env, (l) => {
      if (l.step === 'ha.endpoint') url = (l.data as { url: string }).url;
      return l.step === 'ha.check' && ++checks >= 3;
    }, async () => {
      const health = await fetch(`${url}/healthz`);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      return { health: health.status, body: (await health.json()) as { role: string }, metrics };
    });
    expect(r.code).toBe(0);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(r.during).toMatchObject({ health: 200, body: { role: 'passive' } });
    expect(String((r.during as { metrics: string }).metrics)).toMatch(/^vns3_ha_checks_total\{verdict="up",outcome="ok"\} [1-9]/m);
    expect(r.lines.every((l) => typeof l.time === 'string' && typeof l.level === 'string')).toBe(true);
    const bad = await run(['--config', vars, '--metrics-port', 'x'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/metrics_port/);
  });

  it('the plugin image entrypoint reads <plugin root>/conf/vars.yml and HAENV_ overrides, and keeps state under <plugin root>/state', async () => {
    const root = join(dir, 'hacontainer');
    await mkdir(join(root, 'conf'), { recursive: true });
    await copyFile(vars, join(root, 'conf', 'vars.yml'));
    // The passwords only in the environment, as the plugin passes them; the file has the rest.
    const env = { ...onceEnv(), VNS3_HA_PLUGIN_ROOT: root, VNS3_HA_BIN: BIN, HAENV_MY_API_PASSWORD: bed.sim.controllers[1]!.password, HAENV_PEER_API_PASSWORD: bed.sim.controllers[0]!.password };
    const r = await run(['--once'], env, undefined, undefined, ['sh', ENTRYPOINT]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatchObject({ step: 'ha.config', detail: `settings from ${join(root, 'conf', 'vars.yml')} and HAENV_* variables` });
    expect((r.lines.find((l) => l.step === 'ha.check')?.data as { verdict: string }).verdict).toBe('up');
    const state = JSON.parse(await readFile(join(root, 'state', 'vns3-ha-state.json'), 'utf8')) as { vns3: { cidr: string }[] };
    expect(state.vns3.map((v) => v.cidr)).toEqual(['192.168.10.0/24']);
    // Without the plugin flag, the same root holds only vars.yml: no state file by default.
    await rm(join(root, 'state'), { recursive: true });
    const plain = await run(['--once'], { ...env, VNS3_HA_PLUGIN: '0' }, undefined, undefined, ['sh', ENTRYPOINT]);
    expect(plain.code).toBe(0);
    await expect(readFile(join(root, 'state', 'vns3-ha-state.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('runs until SIGTERM and stops cleanly', async () => {
    const env = { HAENV_MY_API_PASSWORD: bed.sim.controllers[1]!.password, HAENV_PEER_API_PASSWORD: bed.sim.controllers[0]!.password };
    let checks = 0;
    const r = await run(['--config', vars], env, (l) => l.step === 'ha.check' && ++checks >= 2);
    expect(r.code).toBe(0);
    expect(r.lines.some((l) => l.step === 'ha.signal')).toBe(true);
    expect(r.lines.at(-1)?.step).toBe('ha.stop');
  });
});
