import { randomBytes } from 'node:crypto';
import { Vns3ValidationError, type Vns3Client } from '../../client/index.js';
import { makeCertificate } from './certs.js';
import { type FaultSettings, REQUEST_LOG_LIMIT, SimController, type SimWorld, emptyFaults } from './controller.js';
import { Fabric } from './fabric.js';
import { ControllerHandle, type SimClientOptions, type SimulatedController } from './handle.js';
import { type ControllerIdentity, defaultIdentity } from './identity.js';
import { issueLicense } from './license.js';
import { withNotSimulated } from './not-simulated.js';
import { accessOperations } from './operations/access.js';
import { containerOperations } from './operations/containers.js';
import { firewallOperations } from './operations/firewall.js';
import { firewallObjectOperations } from './operations/firewall-objects.js';
import { firewallV2Operations } from './operations/firewall-v2.js';
import { interfaceOperations } from './operations/interfaces.js';
import { ipsecOperations } from './operations/ipsec.js';
import { keysetOperations } from './operations/keyset.js';
import { licenseOperations } from './operations/license.js';
import { overlayOperations } from './operations/overlay.js';
import { peeringOperations } from './operations/peering.js';
import { routeOperations } from './operations/routes.js';
import { snapshotOperations } from './operations/snapshots.js';
import { statusOperations } from './operations/status.js';
import { systemOperations } from './operations/system.js';
import { attachServer } from './server.js';
import { type SimTimings, type TimingProfile, resolveTimings } from './timings.js';
import { specValidator } from './validate.js';

/** How {@link startSimulator} builds the simulation; every field is optional. */
export interface SimulatorOptions {
  /** Number of controllers (default 4). */
  controllers?: number;
  /**
   * `fast` (default, near-zero waits), `standard` (seconds: what `vns3-sim` runs) or `realistic` (a
   * real controller's proportions). Each also chooses the keyset fetch ordering (see `SimTimings`).
   */
  profile?: TimingProfile;
  /** Multiplies every duration of the profile: `realistic` with 0.01 turns a 90 s reboot into 0.9 s. */
  scale?: number;
  /** Individual timings, taken as given. */
  timings?: Partial<SimTimings>;
  /** Subnet of each controller, by index (default 10.<i+1>.1.0/24 in VPC 10.<i+1>.0.0/16). */
  subnets?: string[];
  /** The cloud every controller reports it runs in (default `ec2`). */
  cloudType?: ControllerIdentity['cloudType'];
  /** API password of every controller, or one per index; default a random one each. */
  password?: string | ((index: number) => string);
  /** First port; controllers take consecutive ports. Default: any free port each. */
  firstPort?: number;
  /** Whether the container system runs from the start (default true). */
  containerSystemRunning?: boolean;
  /** Answer 500 whenever a reply would not match spec/vns3.yaml (our own tests turn this on). */
  validateResponses?: boolean;
  /** Seed for the fault dice, so that a run with random faults can be repeated. */
  seed?: number;
  /** How many requests each controller's `requestLog` keeps, the newest (default 1000); a positive integer. */
  requestLogLimit?: number;
}

/** What {@link Simulator.license} puts in a license; any field left out gets a default. */
export interface SimLicenseOptions {
  /** Number of controllers the license covers (default: all of the simulation's). */
  controllers?: number;
  /** Number of overlay clients (default 100). */
  clients?: number;
  /** Topology name (default a random `sim-topology-…`). */
  topology?: string;
}

/** A running simulation: its controllers, its clock, and the faults a test can inject. */
export interface Simulator {
  /** The controllers, by index. */
  readonly controllers: readonly SimulatedController[];
  /** The durations in force (the profile scaled, then the overrides). */
  readonly timings: SimTimings;
  /** Issues a license text the simulated controllers accept (and no real controller would). */
  license(options?: SimLicenseOptions): string;
  /** The controller a reference names; throws `Vns3ValidationError` when none matches. */
  controller(ref: ControllerRef): SimulatedController;
  /**
   * One client per controller, in order, each pinned to its controller's certificate (see
   * {@link SimulatedController.connect}). The caller closes them.
   */
  connectAll(options?: SimClientOptions): Vns3Client[];
  /** Stops answering (listener closed, connections dropped); peers see it unreachable. */
  crash(ref: ControllerRef): Promise<void>;
  /** Brings a crashed controller back with its state as it was. */
  restore(ref: ControllerRef): Promise<void>;
  /** Reboots as after licensing: down, then 502/503, then back. */
  reboot(ref: ControllerRef): Promise<void>;
  /** Cuts the simulated network path between two controllers (both stay reachable to clients). */
  partition(a: ControllerRef, b: ControllerRef): void;
  /** Restores the path {@link partition} cut. */
  heal(a: ControllerRef, b: ControllerRef): void;
  /** Restores every cut path. */
  healAll(): void;
  /** Merges fault settings (latency, drop/error/hang/drop-reply rates, one-shot counts) into the controller's. */
  setFaults(ref: ControllerRef, faults: Partial<FaultSettings>): void;
  /** Removes the faults of one controller, or of all without a reference. */
  clearFaults(ref?: ControllerRef): void;
  /** Image imports on the controller whose source or name contains `match` fail with `message`. */
  failImageImport(ref: ControllerRef, match: string, message: string): void;
  /** Total writes across controllers. */
  totalWrites(): number;
  /** Zeroes every controller's write counter and empties its request log. */
  resetCounters(): void;
  /** Closes every listener and socket and cancels every timer. */
  stop(): Promise<void>;
}

/** A controller by index, name (`vns3-1`), host (`127.0.0.1:port`) or any of its simulated addresses. */
export type ControllerRef = number | string;

/** A tiny seeded PRNG (mulberry32): fault injection must be repeatable for a given seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OPERATIONS = {
  ...systemOperations,
  ...licenseOperations,
  ...keysetOperations,
  ...peeringOperations,
  ...routeOperations,
  ...firewallOperations,
  ...firewallV2Operations,
  ...firewallObjectOperations,
  ...containerOperations,
  ...accessOperations,
  ...snapshotOperations,
  ...interfaceOperations,
  ...overlayOperations,
  ...statusOperations,
  ...ipsecOperations,
};

/**
 * `METHOD /template` of every operation vns3-sim implements, sorted. Every other operation of
 * spec/vns3.yaml answers 501 `NotSimulated` (see not-simulated.ts); `scripts/api-coverage.mjs`
 * counts these for README's API coverage table.
 */
export function simulatedOperations(): string[] {
  return Object.keys(OPERATIONS).sort();
}

/** Timers the simulation owns: all cancelled on stop, none started after it. */
function simulationClock(): { later: SimWorld['later']; stop(): void } {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  return {
    later(ms, fn) {
      if (stopped) return;
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

/** Builds the controllers (not yet listening), each with its certificate, identity and HTTPS front. */
async function buildControllers(count: number, options: SimulatorOptions, world: SimWorld): Promise<SimController[]> {
  // The front's latency waits run on the simulation's clock, so that stop() cancels them too.
  const sleep = (ms: number) => new Promise<void>((resolve) => world.later(ms, resolve));
  const validator = specValidator();
  const operations = withNotSimulated(OPERATIONS, validator);
  const validateResponses = options.validateResponses ?? false;
  const certificates = await Promise.all(Array.from({ length: count }, (_, i) => makeCertificate(`vns3-${i + 1}`)));
  return certificates.map((certificate, i) => {
    const identity = defaultIdentity(i, { subnet: options.subnets?.[i], cloudType: options.cloudType });
    const password =
      typeof options.password === 'function' ? options.password(i) : (options.password ?? randomBytes(12).toString('base64url'));
    const port = options.firstPort ? options.firstPort + i : 0;
    const ctl = new SimController(identity, password, randomBytes(24).toString('hex'), certificate, port, world, {
      containerSystemRunning: options.containerSystemRunning,
    });
    ctl.listener = attachServer(ctl, { operations, validator, validateResponses, sleep });
    world.fabric.add(ctl);
    return ctl;
  });
}

/**
 * Starts simulated VNS3 controllers, each an HTTPS server on 127.0.0.1 with its own self-signed
 * certificate, joined by a simulated network. Resolves once every controller listens; call `stop()`
 * when done. Throws `Vns3ValidationError` for a bad controller count, timing option or log limit, and the
 * listen error when a port is taken (every controller started so far is stopped first).
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const count = options.controllers ?? 4;
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw new Vns3ValidationError('controllers', options.controllers, 'must be an integer from 1 to 1000');
  }
  const timings = resolveTimings(options.profile, options.scale, options.timings);
  const requestLogLimit = options.requestLogLimit ?? REQUEST_LOG_LIMIT;
  if (!Number.isInteger(requestLogLimit) || requestLogLimit < 1) {
    throw new Vns3ValidationError('requestLogLimit', options.requestLogLimit, 'must be a positive integer');
  }
  const fabric = new Fabric();
  const clock = simulationClock();
  const world: SimWorld = {
    fabric,
    timings,
    controllerAt: (address, from) => fabric.reach(from, address) as SimController | undefined,
    later: clock.later,
    random: seededRandom(options.seed ?? 0x5eed),
    requestLogLimit,
  };
  const controllers = await buildControllers(count, options, world);
  try {
    await Promise.all(controllers.map((c) => c.listener?.open()));
  } catch (err) {
    await Promise.all(controllers.map((c) => c.stop()));
    throw err;
  }
  return simulatorOver(controllers, world, () => clock.stop());
}

/** The caller's face of a started simulation. */
function simulatorOver(controllers: SimController[], world: SimWorld, stopClock: () => void): Simulator {
  const { fabric, timings } = world;
  const find = (ref: ControllerRef): SimController => {
    const ctl =
      typeof ref === 'number'
        ? controllers[ref]
        : controllers.find((c) => c.name === ref || c.host === ref || c.addresses.includes(ref));
    if (!ctl) throw new Vns3ValidationError('ref', ref, 'no simulated controller has this index, name, host or address');
    return ctl;
  };
  const handles = controllers.map((c) => new ControllerHandle(c));
  return {
    controllers: handles,
    timings,
    license: (options = {}) => issueLicense({ ...options, controllers: options.controllers ?? controllers.length }),
    controller: (ref) => handles[find(ref).identity.index]!,
    connectAll: (options) => handles.map((h) => h.connect(options)),
    crash: (ref) => find(ref).crash(),
    restore: (ref) => find(ref).restore(),
    reboot: (ref) => find(ref).reboot(),
    partition: (a, b) => fabric.partition(find(a).name, find(b).name),
    heal: (a, b) => fabric.heal(find(a).name, find(b).name),
    healAll: () => fabric.healAll(),
    setFaults: (ref, faults) => Object.assign(find(ref).faults, faults),
    clearFaults: (ref) => {
      for (const c of ref === undefined ? controllers : [find(ref)]) c.faults = emptyFaults();
    },
    failImageImport: (ref, match, message) => void find(ref).importFailures.set(match, message),
    totalWrites: () => controllers.reduce((sum, c) => sum + c.writes, 0),
    resetCounters: () => {
      for (const c of controllers) {
        c.writes = 0;
        c.requestLog.length = 0;
      }
    },
    async stop() {
      stopClock();
      await Promise.all(controllers.map((c) => c.stop()));
    },
  };
}
