/**
 * Test beds for automation that drives many controllers: a simulation with a pinned client per
 * controller, and the step most mesh tests start from (every controller licensed, one keyset).
 * Licensing goes through the SDK's own macros, so a test bed reaches that point the way a user's
 * pipeline would, reboots included.
 */
import { Vns3ValidationError, type Vns3Client } from '../client/index.js';
// The root entry, never the macro files: the macros layer may reorganise its files, the public names stay.
// The root never imports src/testing, so this creates no cycle.
import { assertBulkOk, fetchKeysets, setupController } from '../index.js';
import type { SimClientOptions } from './simulator/handle.js';
import { startSimulator, type Simulator, type SimulatorOptions } from './simulator/simulator.js';
import type { TimingProfile } from './simulator/timings.js';

/** A running simulation and one client per controller; `stop()` closes both. */
export interface TestMesh {
  sim: Simulator;
  /** `clients[i]` talks to `sim.controllers[i]`, pinned to its certificate. */
  clients: Vns3Client[];
  /** Closes every client, then stops the simulation. */
  stop(): Promise<void>;
}

/** A {@link startTestMesh} bed: the simulation's options plus those of its clients. */
export interface TestMeshOptions extends SimulatorOptions {
  /** Options of every client; replaces the default (5 s per attempt, 6 quick retries so fault tests stay short). */
  client?: SimClientOptions;
}

const TEST_CLIENT: SimClientOptions = { timeoutMs: 5_000, retry: { retries: 6, minTimeoutMs: 20, maxTimeoutMs: 200 } };

/**
 * The timing profile of test beds that do not choose one: `VNS3_SIM_PROFILE` (`fast`, `standard`,
 * `realistic`) so that a whole suite can run against another profile's orderings and durations
 * (`VNS3_SIM_PROFILE=standard npx vitest run test/macros`); unset, the simulator's default (`fast`).
 * Read only here, by the test bed: `startSimulator` and `vns3-sim` never look at the environment.
 */
function profileFromEnvironment(): TimingProfile | undefined {
  const value = process.env.VNS3_SIM_PROFILE?.trim();
  if (!value) return undefined;
  if (value !== 'fast' && value !== 'standard' && value !== 'realistic') {
    throw new Vns3ValidationError('VNS3_SIM_PROFILE', value, "must be 'fast', 'standard' or 'realistic'");
  }
  return value;
}

/**
 * Starts simulated controllers and a pinned client for each. Unlike `startSimulator`, replies are
 * checked against the spec by default (`validateResponses: true`): a test bed should fail loudly
 * when the simulator drifts from the contract. Without a `profile`, `VNS3_SIM_PROFILE` chooses one.
 * Throws what `startSimulator` throws, and `Vns3ValidationError` for a bad `VNS3_SIM_PROFILE`.
 */
export async function startTestMesh(options: TestMeshOptions = {}): Promise<TestMesh> {
  const { client = TEST_CLIENT, validateResponses = true, profile = profileFromEnvironment(), ...simulation } = options;
  const sim = await startSimulator({ ...simulation, profile, validateResponses });
  const clients = sim.connectAll(client);
  return {
    sim,
    clients,
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await sim.stop();
    },
  };
}

/** How {@link licenseMesh} licenses and keys the mesh. */
export interface LicenseMeshOptions {
  /** Keyset token shared by the mesh (default `test-keyset-token`). */
  token?: string;
  /** Number of controllers the license covers (default: all of the simulation's). */
  licensedControllers?: number;
}

// Polls tuned for the simulator's fast timings; a realistic profile only makes each wait longer.
const FAST_POLL = { intervalMs: 25, maxIntervalMs: 200 };
const FAST_REBOOT = { ...FAST_POLL, rebootStartTimeoutMs: 2_000 };

/**
 * Brings a fresh mesh to "licensed, same keyset" through the SDK's macros: `setupController` on
 * controller 0 (license, accept and its reboot, generate the keyset), then `fetchKeysets` on every
 * other controller in parallel (each reboots after fetching). Throws `Vns3ValidationError` for a mesh
 * without clients, the macro's error when the root's setup fails, and `Vns3BulkError` when a fetch fails.
 */
export async function licenseMesh(mesh: Pick<TestMesh, 'sim' | 'clients'>, options: LicenseMeshOptions = {}): Promise<void> {
  const { token = 'test-keyset-token', licensedControllers } = options;
  const [root, ...peers] = mesh.clients;
  if (!root) throw new Vns3ValidationError('mesh.clients', mesh.clients, 'a mesh needs at least one client');
  const license = mesh.sim.license({ controllers: licensedControllers });
  await setupController(root, { license, keysetToken: token, waitTimeoutMs: 20_000 }, { intervalMs: FAST_POLL.intervalMs, reboot: FAST_REBOOT });
  if (peers.length === 0) return;
  const source = mesh.sim.controllers[0]!.identity.privateIp;
  const fetched = await fetchKeysets(peers, { source, token }, { timeoutMs: 20_000, ...FAST_POLL, reboot: FAST_REBOOT });
  assertBulkOk(fetched, 'keyset fetch');
}
