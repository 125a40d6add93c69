import { createClient, type Vns3Client } from '../../src/client/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/testing/simulator/index.js';

export interface TestMesh {
  sim: Simulator;
  clients: Vns3Client[];
  stop(): Promise<void>;
}

/**
 * Starts simulated controllers (replies checked against the spec) and a client for each, pinned to
 * its certificate. Retries are fast so fault tests stay short.
 */
export async function startTestMesh(options: SimulatorOptions = {}): Promise<TestMesh> {
  const sim = await startSimulator({ validateResponses: true, ...options });
  const clients = sim.controllers.map((c) =>
    createClient({ host: c.host, password: c.password, fingerprint256: c.fingerprint256, timeoutMs: 5_000, retry: { retries: 6, minTimeoutMs: 20, maxTimeoutMs: 200 } }),
  );
  return {
    sim,
    clients,
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await sim.stop();
    },
  };
}
