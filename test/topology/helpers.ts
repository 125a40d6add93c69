import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSimReport } from '../../src/testing/cli/sim.js';
import { afterAll, beforeAll } from 'vitest';
import { startTestMesh, type Simulator, type TestMesh } from '../../src/testing/index.js';
import { loadTopology, type Topology } from '../../src/topology/index.js';

/** A temporary folder removed by `cleanup()`. */
export async function tempDir(): Promise<{ dir: string; file: (name: string, text: string) => Promise<string>; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vns3-topology-'));
  return {
    dir,
    file: async (name, text) => {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The document `vns3-sim --json` prints (the command's own function), for a simulator started in-process. */
export async function simVarFile(sim: Simulator, dir: string): Promise<string> {
  const doc = await writeSimReport(sim, dir, { profile: 'fast', scale: 1 });
  const path = join(dir, 'sim.json');
  await writeFile(path, JSON.stringify(doc, null, 2));
  return path;
}

/** A topology file for the first `n` controllers of a var file shaped like `vns3-sim --json`. */
export function meshYaml(n: number, extra = ''): string {
  const controllers = Array.from({ length: n }, (_, i) =>
    [
      `  - name: ctl${i + 1}`,
      `    host: \${var.controllers[${i}].host}`,
      `    password: \${var.controllers[${i}].password}`,
      `    fingerprint256: \${var.controllers[${i}].fingerprint256}`,
      `    subnet: \${var.controllers[${i}].subnet}`,
    ].join('\n'),
  );
  return ['version: 1', 'name: test-mesh', 'license:', '  file: ${var.license}', 'keyset:', '  token: { env: KEYSET_TOKEN }', 'controllers:', ...controllers, extra].join('\n');
}

/** A simulated mesh, a temporary folder and its `vns3-sim --json` var file, for one describe block. */
export interface TopologyBed {
  mesh: TestMesh;
  tmp: Awaited<ReturnType<typeof tempDir>>;
  varFile: string;
  /** Writes `text` to `name` in the folder and loads it with the var file and `env`. */
  load(name: string, text: string): Promise<Topology>;
}

/** Starts a {@link TopologyBed} before the block's tests and stops it after them. */
export function topologyBed(controllers: number, env: Record<string, string>): TopologyBed {
  const bed = {
    load: async (name: string, text: string) => loadTopology(await bed.tmp.file(name, text), { varFiles: [bed.varFile], env }),
  } as TopologyBed;
  beforeAll(async () => {
    bed.mesh = await startTestMesh({ controllers });
    bed.tmp = await tempDir();
    bed.varFile = await simVarFile(bed.mesh.sim, bed.tmp.dir);
  });
  afterAll(async () => {
    await bed.mesh?.stop();
    await bed.tmp?.cleanup();
  });
  return bed;
}
