import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { peeringEntries } from '../../src/macros/index.js';
import { tempDir } from './helpers.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = 'examples/mesh.topology.yaml';
const KEYSET_TOKEN = 'cli-test-keyset-token';

interface SimDoc {
  license: string;
  controllers: { host: string; password: string; subnet: string; fingerprint256: string }[];
}
interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs `vns3` as a child process (no TTY), bounded in time. */
function vns3(args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/vns3.js', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KEYSET_TOKEN, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? `signal ${signal}`, stdout, stderr });
    });
  });
}

/** Starts `vns3-sim --json` as the README's quick start does, and reads its document. */
function startSim(): Promise<{ child: ChildProcess; doc: SimDoc; json: string }> {
  const child = spawn(process.execPath, ['bin/vns3-sim.js', '--controllers', '4', '--profile', 'fast', '--json'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('vns3-sim printed no JSON within 30 s')), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const doc = JSON.parse(out) as SimDoc;
        clearTimeout(timer);
        resolve({ child, doc, json: out });
      } catch {
        // not complete yet
      }
    });
  });
}

describe('vns3 command against four vns3-sim controllers (the README quick start)', () => {
  let sim: Awaited<ReturnType<typeof startSim>>;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let varFile: string;
  const outputs: string[] = [];
  const run = async (args: string[]): Promise<Run> => {
    const r = await vns3(args);
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    tmp = await tempDir();
    sim = await startSim();
    varFile = await tmp.file('sim.json', sim.json);
  });
  afterAll(async () => {
    sim?.child.kill('SIGTERM');
    await tmp?.cleanup();
  });

  it('plan exits 2, apply --yes exits 0 with plain timestamped progress, the same plan exits 0, status --json is one document', async () => {
    const before = await run(['plan', EXAMPLE, '--var-file', varFile, '--detailed-exitcode']);
    expect(before.code).toBe(2);
    expect(before.stdout).toContain('  + license upload');
    expect(before.stdout).toContain('  + keyset fetch from ctl1');
    expect(before.stdout).toContain('wait: the controller reboots after the license is accepted');
    expect(before.stdout).toMatch(/^Plan: \d+ to add, \d+ to change, 0 to remove; \d+ wait\(s\)\.$/m);

    const apply = await run(['apply', EXAMPLE, '--var-file', varFile, '--yes']);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    // Not a TTY: plain lines with a clock and the elapsed time, no spinner or colour.
    expect(apply.stdout).toMatch(/^\d\d:\d\d:\d\dZ \+ +\d+\.\ds {2}ctl1 +license\.accept/m);
    expect(apply.stdout).not.toMatch(/\x1b\[|\r/);
    expect(apply.stdout).toContain('Apply complete after');

    const after = await run(['plan', EXAMPLE, '--var-file', varFile, '--detailed-exitcode']);
    expect(after.code).toBe(0);
    expect(after.stdout.trim()).toBe('No changes. The controllers match the topology.');

    const status = await run(['status', EXAMPLE, '--var-file', varFile, '--json', '--svg', `${tmp.dir}/mesh.svg`]);
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout) as { ok: boolean; keysetAgreement: boolean; controllers: { links: { reachable: boolean }[] }[] };
    expect(doc.ok).toBe(true);
    expect(doc.keysetAgreement).toBe(true);
    expect(doc.controllers.flatMap((c) => c.links).filter((l) => l.reachable)).toHaveLength(12);
    const svg = readFileSync(`${tmp.dir}/mesh.svg`, 'utf8');
    expect(svg.match(/<line [^>]*stroke="#2e7d32" stroke-width="3">/g)).toHaveLength(6);
  });

  it('the controllers read back over HTTPS: ids 1–4, every peer reachable, every subnet advertised and learned, one keyset', async () => {
    const subnets = sim.doc.controllers.map((c) => c.subnet);
    const checksums = new Set<string>();
    for (const [i, c] of sim.doc.controllers.entries()) {
      const client = createClient({ host: c.host, password: c.password, fingerprint256: c.fingerprint256 });
      try {
        const peering = await client.get('/peering');
        expect(peering.id).toBe(i + 1);
        const peers = [...peeringEntries(peering).values()].filter((e) => e.self !== true && e.not_set !== true);
        expect(peers.map((p) => [p.id, p.reachable])).toEqual([1, 2, 3, 4].filter((id) => id !== i + 1).map((id) => [id, true]));
        const routes = Object.values(await client.get('/routes'));
        expect(routes.some((r) => r.advertise === true && r.cidr === subnets[i])).toBe(true);
        expect(routes.filter((r) => r.editable === false).map((r) => r.cidr).sort()).toEqual(subnets.filter((_, j) => j !== i).sort());
        checksums.add((await client.get('/keyset')).checksum ?? '');
      } finally {
        await client.close();
      }
    }
    expect([...checksums]).toHaveLength(1);
  });

  it('apply --json writes NDJSON: events, the plan, one result line', async () => {
    const r = await run(['apply', EXAMPLE, '--var-file', varFile, '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; ok?: boolean });
    expect(lines.at(-1)).toMatchObject({ type: 'result', ok: true, applied: true });
    expect(lines.every((l) => ['event', 'plan', 'result'].includes(l.type))).toBe(true);
  });

  it('exit codes: usage error 1, an invalid file 1 naming file:line:column, status of a broken link 3', async () => {
    const usage = await run(['plan', EXAMPLE, '--yes']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('--yes is an option of apply, not plan');
    const bad = await tmp.file('bad.yaml', readFileSync(`${repo}/${EXAMPLE}`, 'utf8').replace('  address: private', '  address: privat'));
    const invalid = await run(['validate', bad, '--var-file', varFile]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/bad\.yaml:\d+:12: peering\.address: must be one of "private", "public", "publicDns"/);
    const missing = await run(['plan', EXAMPLE]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('variable "license" has no value');
    const gone = sim.doc.controllers[3]!;
    const other = await tmp.file('other.json', JSON.stringify({ ...sim.doc, controllers: [...sim.doc.controllers.slice(0, 3), { ...gone, host: '127.0.0.1:1' }] }));
    const status = await run(['status', EXAMPLE, '--var-file', other, '--timeout', '20s']);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('ctl4: API not reachable');
  });

  it('never prints a password, the license or the keyset token', () => {
    const license = readFileSync(sim.doc.license, 'utf8');
    const secrets = [KEYSET_TOKEN, ...sim.doc.controllers.map((c) => c.password), ...license.split('\n').filter((l) => l.trim().length >= 8)];
    expect(outputs.length).toBeGreaterThan(10);
    for (const text of outputs) for (const s of secrets) expect(text).not.toContain(s);
  });
});
