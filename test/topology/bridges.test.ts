import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Vns3Event } from '../../src/events.js';
import { applyTopology, formatPlan, formatStatus, loadTopology, planTopology, readStatus, renderSvg, Vns3TopologyError, type Topology } from '../../src/topology/index.js';
import { meshYaml, topologyBed } from './helpers.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const PSK = 'bridge-psk-never-printed-7f3a';
const ENV = { KEYSET_TOKEN: 'bridge-test-token', BRIDGE_PSK: PSK };

const BRIDGE = ['ipsec:', '  - name: to-dc', '    a: ctl1', '    b: ctl2', '    psk: { env: BRIDGE_PSK }', '    networks: { b: [192.168.100.0/24] }'].join('\n');

/** Runs `vns3` as a child process (no TTY), bounded in time. */
function vns3(args: string[]): Promise<{ code: number | string; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/vns3.js', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...ENV, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? `signal ${signal}`, out });
    });
  });
}

describe('IPsec bridges in the topology file', () => {
  const bed = topologyBed(3, ENV);

  it('examples/bridge.topology.yaml loads with the vns3-sim document as its var file', async () => {
    const example = await loadTopology(`${repo}examples/bridge.topology.yaml`, { varFiles: [bed.varFile], env: ENV });
    expect(example.peering.links).toEqual([]);
    expect(example.bridges.map((b) => [b.name, b.a, b.b, b.networks])).toEqual([['aws-azure', 'aws', 'azure', { a: [example.controllers[0]!.subnet], b: [example.controllers[1]!.subnet] }]]);
    expect(JSON.stringify(example)).not.toContain(PSK);
  });

  it('refuses an unknown controller, a bridge to itself and a bad network with file, line and column, before any request', async () => {
    const bad = ['ipsec:', '  - name: to-dc', '    a: ctl1', '    b: nope', '    psk: { env: BRIDGE_PSK }', '  - name: loop', '    a: ctl2', '    b: ctl2', '    psk: inline-psk', '    networks: { a: [not-a-cidr] }'].join('\n');
    const file = await bed.tmp.file('bad.yaml', meshYaml(3, bad));
    const error = await loadTopology(file, { varFiles: [bed.varFile], env: ENV }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Vns3TopologyError);
    const lines = (error as Vns3TopologyError).problems.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`);
    expect(lines).toEqual([
      '26:8 ipsec[0].b: "nope" is not a controller of this file',
      '32:21 ipsec[1].networks.a[0]: must be an IPv4 CIDR such as 10.0.1.0/24',
      '30:8 ipsec[1].b: must be another controller than a',
    ]);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).not.toContain('inline-psk');
    const unknownField = await loadTopology(await bed.tmp.file('field.yaml', meshYaml(3, `${BRIDGE}\n    ike: 2`)), { varFiles: [bed.varFile], env: ENV }).catch((e: unknown) => e);
    expect((unknownField as Vns3TopologyError).problems.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`)).toEqual(['29:5 ipsec[0].ike: unknown field "ike"']);
  });

  it('plans both ends with the wait, applies after the mesh, plans nothing the second time, shows the tunnel in status; the PSK is in no output', async () => {
    const topology = await bed.load('bridge.yaml', meshYaml(3, BRIDGE));
    expect(topology.bridges[0]!.networks).toEqual({ a: [topology.controllers[0]!.subnet], b: ['192.168.100.0/24'] });
    const outputs: string[] = [];

    const before = await planTopology(topology, { clients: bed.mesh.clients });
    const ipsecLines = before.controllers.map((c) => c.changes.filter((ch) => ch.kind === 'ipsec').map((ch) => `${ch.action} ${ch.summary}`));
    expect(ipsecLines).toEqual([
      ['+ IPsec endpoint to-dc to ctl2 (route-based)', '+ route 192.168.100.0/24 into IPsec to-dc'],
      ['+ IPsec endpoint to-dc to ctl1 (route-based)', `+ route ${topology.controllers[0]!.subnet} into IPsec to-dc`],
      [],
    ]);
    expect(before.controllers.map((c) => c.waits.filter((w) => w.kind === 'ipsec-tunnel').map((w) => w.summary))).toEqual([['IPsec to-dc tunnel to ctl2 connected'], ['IPsec to-dc tunnel to ctl1 connected'], []]);
    outputs.push(formatPlan(before), JSON.stringify(before));

    const cli = await vns3(['apply', await bed.tmp.file('cli.yaml', meshYaml(3, BRIDGE)), '--var-file', bed.varFile, '--yes', '--json']);
    outputs.push(cli.out);
    expect(cli.code).toBe(0);
    expect(cli.out).toContain('IPsec bridge to-dc: ctl1 <-> ctl2');

    // Once the controllers are licensed, the plan is the macro's own dry run: already applied, nothing.
    const again = await planTopology(topology, { clients: bed.mesh.clients });
    expect(again.changed).toBe(false);
    expect(formatPlan(again)).toBe('No changes. The controllers match the topology.');

    const status = await readStatus(topology, { clients: bed.mesh.clients });
    expect(status.ok).toBe(true);
    expect(status.bridges).toEqual([
      { name: 'to-dc', a: { controller: 'ctl1', endpoint: true, connected: true }, b: { controller: 'ctl2', endpoint: true, connected: true }, connected: true },
    ]);
    expect(formatStatus(status)).toContain('IPsec to-dc: ctl1 connected <-> ctl2 connected');
    const statusCli = await vns3(['status', await bed.tmp.file('cli2.yaml', meshYaml(3, BRIDGE)), '--var-file', bed.varFile, '--json']);
    outputs.push(statusCli.out, JSON.stringify(status), formatStatus(status));
    expect(statusCli.code).toBe(0);
    expect((JSON.parse(statusCli.out) as { bridges: unknown[] }).bridges).toHaveLength(1);

    // A changed key is a change of the endpoint on both sides, named but not shown.
    const rekeyed = await loadTopology(await bed.tmp.file('rekey.yaml', meshYaml(3, BRIDGE)), { varFiles: [bed.varFile], env: { ...ENV, BRIDGE_PSK: 'another-key-1234' } });
    const rekey = await planTopology(rekeyed, { clients: bed.mesh.clients });
    expect(rekey.controllers.map((c) => c.changes.map((ch) => `${ch.action} ${ch.summary}`))).toEqual([['~ IPsec endpoint to-dc: psk differ'], ['~ IPsec endpoint to-dc: psk differ'], []]);
    outputs.push(formatPlan(rekey), JSON.stringify(rekey));

    const events: Vns3Event[] = [];
    bed.mesh.sim.resetCounters();
    const second = await applyTopology(topology, { clients: bed.mesh.clients, onEvent: (e) => void events.push(e) });
    expect(second.plan.changed).toBe(false);
    expect(bed.mesh.sim.totalWrites()).toBe(0);
    outputs.push(JSON.stringify(events), JSON.stringify(second));

    // A second bridge on licensed controllers: the macro's dry run, with the next /30 free on both sides, then only its writes.
    const publicIp = (i: number): string => bed.mesh.sim.controllers[i]!.identity.publicIp;
    const two = await bed.load('two.yaml', meshYaml(3, `${BRIDGE}\n  - { name: backup, a: ctl2, b: ctl3, psk: { env: BRIDGE_PSK }, ikeVersion: 1, networks: { a: [10.200.0.0/16], b: [10.100.0.0/16] } }`));
    const planTwo = await planTopology(two, { clients: bed.mesh.clients });
    expect(planTwo.controllers.map((c) => c.changes.map((ch) => `${ch.action} ${ch.summary}`))).toEqual([
      [],
      [`+ IPsec endpoint backup to ${publicIp(2)} (VTI 169.254.0.5/30, route-based)`, '+ route 10.100.0.0/16 into IPsec backup'],
      [`+ IPsec endpoint backup to ${publicIp(1)} (VTI 169.254.0.6/30, route-based)`, '+ route 10.200.0.0/16 into IPsec backup'],
    ]);
    expect(formatPlan(planTwo)).toContain('    wait: IPsec backup tunnel to ctl3 connected');
    const applied = await applyTopology(two, { clients: bed.mesh.clients });
    expect(applied.status.bridges.map((b) => [b.name, b.connected])).toEqual([['to-dc', true], ['backup', true]]);
    expect((await planTopology(two, { clients: bed.mesh.clients })).changed).toBe(false);
    const svg = renderSvg(applied.status);
    expect(svg).toContain('IPsec backup: ctl2 – ctl3: connected');

    // Renaming a bridge would make a second endpoint to the same address, which the controller refuses: a problem of the plan.
    const renamed = await planTopology(await bed.load('renamed.yaml', meshYaml(3, BRIDGE.replace('name: to-dc', 'name: to-datacentre'))), { clients: bed.mesh.clients });
    expect(renamed.controllers[0]!.problems).toEqual([`IPsec to-datacentre: endpoint to-dc already points at ${publicIp(1)} (one endpoint per remote address); rename the bridge back or delete that endpoint`]);
    const twice = await bed.load('twice.yaml', meshYaml(3, `${BRIDGE}\n  - { name: again, a: ctl2, b: ctl1, psk: x-psk-again }`)).catch((e: unknown) => e);
    expect((twice as Vns3TopologyError).problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual(['29:32 ipsec[0] already bridges ctl2 and ctl1 (a controller has one IPsec endpoint per remote address)']);
    outputs.push(formatPlan(planTwo), JSON.stringify(applied), svg);
    for (const out of outputs) {
      expect(out).not.toContain(PSK);
      expect(out).not.toContain('another-key-1234');
    }
  });
});
