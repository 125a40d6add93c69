import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMesh, type TestMesh } from '../../src/testing/index.js';
import { applyTopology, loadTopology, planTopology, readStatus, renderSvg, Vns3TopologyPlanError, type Topology } from '../../src/topology/index.js';
import { meshYaml, simVarFile, tempDir } from './helpers.js';

const ENV = { KEYSET_TOKEN: 'plugins-test-token' };
const IMAGE = { name: 'vns3-ha-plugin', url: 'https://downloads.example.com/vns3-ha-plugin.tar.gz' };

/** Adds YAML lines under controller `i` of meshYaml (after its subnet line). */
const under = (yaml: string, i: number, lines: string[]): string => yaml.replace(new RegExp(`( {4}subnet: \\$\\{var\\.controllers\\[${i}\\]\\.subnet\\})`), `$1\n${lines.map((l) => `    ${l}`).join('\n')}`);

describe('firewall, plugins and an HA pair from a topology file (three simulated controllers)', () => {
  let mesh: TestMesh;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let topology: Topology;

  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 3 });
    tmp = await tempDir();
    const varFile = await simVarFile(mesh.sim, tmp.dir);
    let yaml = meshYaml(3, ['ha:', `  - { primary: ctl1, secondary: ctl3, cloud: aws, image: { name: ${IMAGE.name}, url: "${IMAGE.url}" } }`].join('\n'));
    yaml = under(yaml, 1, ['firewall:', '  - "POSTROUTING_CUST -o eth0 -s 10.2.1.0/24 -j MASQUERADE"', '  - "INPUT_CUST -s 10.0.0.0/8 -j ACCEPT"']);
    yaml = under(yaml, 1, ['plugins:', '  images: [{ name: web-proxy, url: "https://downloads.example.com/proxy.tar.gz" }]', '  containers: [{ name: proxy, image: web-proxy, command: "/usr/bin/proxy", environment: { MODE: edge } }]']);
    topology = await loadTopology(await tmp.file('plugins.yaml', yaml), { varFiles: [varFile], env: ENV });
  });
  afterAll(async () => {
    await mesh?.stop();
    await tmp?.cleanup();
  });

  it('plans them before licensing, applies them, plans nothing after, and shows the HA roles', async () => {
    const fresh = await planTopology(topology, { clients: mesh.clients });
    const ctl2 = fresh.controllers[1]!.changes.map((c) => `${c.action} ${c.summary}`);
    // The simulator shows these areas before licensing, so the macros' dry runs give their exact plans.
    expect(ctl2).toEqual(
      expect.arrayContaining([
        '+ firewall rule 0: POSTROUTING_CUST -o eth0 -s 10.2.1.0/24 -j MASQUERADE',
        '+ firewall rule 1: INPUT_CUST -s 10.0.0.0/8 -j ACCEPT',
        '+ image web-proxy',
        '+ container proxy start',
      ]),
    );
    expect(fresh.controllers[0]!.changes).toEqual(expect.arrayContaining([{ action: '+', kind: 'ha', summary: 'HA plugin (primary of ctl3)' }]));

    const applied = await applyTopology(topology, { clients: mesh.clients });
    expect(applied.status.ok).toBe(true);
    expect(applied.status.controllers.map((c) => c.ha && `${c.ha.role}:${c.ha.container}`)).toEqual(['primary:running', undefined, 'secondary:running']);
    const rules = await mesh.clients[1]!.get('/firewall/rules');
    expect(JSON.stringify(rules)).toContain('INPUT_CUST -s 10.0.0.0/8 -j ACCEPT');

    const again = await planTopology(topology, { clients: mesh.clients });
    expect(again.controllers.flatMap((c) => [...c.changes, ...c.problems])).toEqual([]);
    expect(again.changed).toBe(false);
  });

  it('refuses bad input found in a dry run before its first write', async () => {
    const bad = { ...topology, controllers: topology.controllers.map((c, i) => (i === 2 ? { ...c, firewall: ['-j ACCEPT everything'] } : c)) };
    Object.defineProperty(bad, 'secrets', { value: topology.secrets });
    mesh.sim.resetCounters();
    const error = await applyTopology(bad, { clients: mesh.clients }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Vns3TopologyPlanError);
    expect((error as Vns3TopologyPlanError).problems).toEqual([expect.stringMatching(/^ctl3: firewall: Invalid rules\[0\]: .*must start with a VNS3 chain/)]);
    expect(mesh.sim.totalWrites()).toBe(0);
  });

  it('plans a firewall change with the macro\'s own positions, and draws the mesh', async () => {
    const changed = { ...topology, controllers: topology.controllers.map((c, i) => (i === 1 ? { ...c, firewall: ['INPUT_CUST -s 10.0.0.0/8 -j ACCEPT'] } : c)) };
    Object.defineProperty(changed, 'secrets', { value: topology.secrets });
    const plan = await planTopology(changed, { clients: mesh.clients });
    expect(plan.controllers[1]!.changes).toEqual([{ action: '-', kind: 'firewall', summary: 'firewall rule 0: POSTROUTING_CUST -o eth0 -s 10.2.1.0/24 -j MASQUERADE' }]);
    const svg = renderSvg(await readStatus(topology, { clients: mesh.clients }), 'lab');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/stroke="#2e7d32" stroke-width="3">/g)).toHaveLength(3);
    expect(svg).toContain('HA primary');
  });
});
