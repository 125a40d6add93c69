import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/testing/cli/sim.js';
import { sleep } from '../../../src/abort.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

interface Printed {
  dir: string;
  license: string;
  controllers: { name: string; host: string; url: string; password: string; privateIp: string; publicIp: string; subnet: string; certificate: string; fingerprint256: string }[];
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? `signal ${signal}`);
    });
  });
}

/** A writable that keeps what it is given. */
const sink = () => {
  const chunks: string[] = [];
  return { write: (t: string) => chunks.push(t), text: () => chunks.join('') };
};

describe('vns3-sim command', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('prints JSON, serves with the printed certificate, and stops cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, ['bin/vns3-sim.js', '--controllers', '2', '--json', '--password', 'cli-pass'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = exitOf(child, 30_000);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const printed = await new Promise<Printed>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no JSON within 20 s; stderr: ${stderr}`)), 20_000);
      child!.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        try {
          const doc = JSON.parse(stdout) as Printed;
          clearTimeout(timer);
          resolve(doc);
        } catch {
          // not complete yet
        }
      });
      child!.once('exit', () => reject(new Error(`exited early; stderr: ${stderr}`)));
    });

    expect(printed.controllers).toHaveLength(2);
    const first = printed.controllers[0]!;
    expect(first.name).toBe('vns3-1');
    expect(first.password).toBe('cli-pass');
    expect(first.subnet).toMatch(/\/24$/);
    const port = Number(first.host.split(':')[1]);

    const agent = new Agent({ connect: { ca: readFileSync(first.certificate, 'utf8') } });
    try {
      const auth = `Basic ${Buffer.from(`api:${first.password}`).toString('base64')}`;
      const res = await fetch(`${first.url}/config`, { dispatcher: agent, headers: { authorization: auth } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { response: { private_ipaddress: string } }).response.private_ipaddress).toBe(first.privateIp);
      // The license file is one the controllers accept.
      const lic = await fetch(`${first.url}/license`, {
        dispatcher: agent,
        method: 'PUT',
        headers: { authorization: auth, 'content-type': 'text/plain' },
        body: readFileSync(printed.license, 'utf8'),
      });
      expect(lic.status).toBe(200);
      await lic.arrayBuffer();
    } finally {
      await agent.close();
    }

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout.trim().endsWith('}')).toBe(true); // nothing but the JSON document on stdout
    expect(await refused(port)).toBe(true);
    expect(existsSync(printed.dir)).toBe(false); // a folder it made itself is removed
  });

  it('refuses bad options with exit code 2 and a message on stderr', async () => {
    child = spawn(process.execPath, ['bin/vns3-sim.js', '--controllers', 'zero'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await exitOf(child, 30_000)).toBe(2);
    expect(stderr).toContain('--controllers');
  });

  it('main(): options, --help, table output and stop by signal', async () => {
    for (const bad of [['--profile', 'slow'], ['--scale', '0'], ['--port', '70000'], ['--bogus'], ['extra']]) {
      const err = sink();
      expect(await main(bad, { stdout: sink(), stderr: err })).toBe(2);
      expect(err.text()).toMatch(/vns3-sim: /);
    }
    const help = sink();
    expect(await main(['--help'], { stdout: help, stderr: sink() })).toBe(0);
    expect(help.text()).toContain('--controllers N');

    const out = sink();
    const stop = new AbortController();
    const running = main(['--controllers', '1'], { stdout: out, stderr: sink(), signal: stop.signal });
    const deadline = Date.now() + 10_000;
    while (!out.text().includes('Press Ctrl+C') && Date.now() < deadline) await sleep(20);
    expect(out.text()).toMatch(/vns3-1\s+127\.0\.0\.1:\d+\s+\S+\s+10\.1\.1\.10\s+198\.18\.0\.1\s+10\.1\.1\.0\/24/);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out.text())?.[1]);
    expect(await refused(port)).toBe(false);
    stop.abort();
    expect(await running).toBe(0);
    expect(await refused(port)).toBe(true);
  });
});
