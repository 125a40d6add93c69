import { randomBytes } from 'node:crypto';
import { makeCertificate } from './certs.js';
import { type FaultSettings, type RequestLogEntry, SimController, type SimWorld, emptyFaults } from './controller.js';
import { Fabric } from './fabric.js';
import { type ControllerIdentity, defaultIdentity } from './identity.js';
import { issueLicense } from './license.js';
import { containerOperations } from './operations/containers.js';
import { firewallOperations } from './operations/firewall.js';
import { keysetOperations } from './operations/keyset.js';
import { licenseOperations } from './operations/license.js';
import { peeringOperations } from './operations/peering.js';
import { routeOperations } from './operations/routes.js';
import { systemOperations } from './operations/system.js';
import { attachServer } from './server.js';
import { type SimTimings, type TimingProfile, resolveTimings } from './timings.js';
import { specValidator } from './validate.js';

export interface SimulatorOptions {
  /** Number of controllers (default 4). */
  controllers?: number;
  /** `fast` (default, near-zero waits) or `realistic` (a real controller's proportions). */
  profile?: TimingProfile;
  /** Multiplies every duration of the profile: `realistic` with 0.01 turns a 90 s reboot into 0.9 s. */
  scale?: number;
  /** Individual timings, taken as given. */
  timings?: Partial<SimTimings>;
  /** Subnet of each controller, by index (default 10.<i+1>.1.0/24 in VPC 10.<i+1>.0.0/16). */
  subnets?: string[];
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
}

/** One simulated controller as the caller sees it: where to reach it and how to inject faults. */
export interface SimulatedController {
  readonly index: number;
  readonly name: string;
  /** `127.0.0.1:<port>`: give this as `host` to the client. */
  readonly host: string;
  readonly port: number;
  /** `https://127.0.0.1:<port>/api` */
  readonly url: string;
  /** The current API password (changes after `PUT /api_password`). */
  readonly password: string;
  readonly apiToken: string;
  /** PEM of the self-signed certificate: pass as `ca`. */
  readonly certificate: string;
  /** Pass as `fingerprint256` to pin the certificate. */
  readonly fingerprint256: string;
  readonly identity: ControllerIdentity;
  readonly licensed: boolean;
  readonly peerId: number | undefined;
  /** Write requests (POST, PUT, DELETE) received since start or the last `resetCounters()`. */
  readonly writes: number;
  readonly requestLog: readonly RequestLogEntry[];
}

export interface Simulator {
  readonly controllers: readonly SimulatedController[];
  readonly timings: SimTimings;
  /** Issues a license text the simulated controllers accept. */
  license(options?: { controllers?: number; clients?: number; topology?: string }): string;
  controller(ref: ControllerRef): SimulatedController;
  /** Stops answering (listener closed, connections dropped); peers see it unreachable. */
  crash(ref: ControllerRef): Promise<void>;
  restore(ref: ControllerRef): Promise<void>;
  /** Reboots as after licensing: down, then 502/503, then back. */
  reboot(ref: ControllerRef): Promise<void>;
  partition(a: ControllerRef, b: ControllerRef): void;
  heal(a: ControllerRef, b: ControllerRef): void;
  healAll(): void;
  /** Merges fault settings (latency, drop/error/hang rates, one-shot counts) into the controller's. */
  setFaults(ref: ControllerRef, faults: Partial<FaultSettings>): void;
  clearFaults(ref?: ControllerRef): void;
  /** Image imports on the controller whose source or name contains `match` fail with `message`. */
  failImageImport(ref: ControllerRef, match: string, message: string): void;
  /** Total writes across controllers. */
  totalWrites(): number;
  resetCounters(): void;
  /** Closes every listener and socket and cancels every timer. */
  stop(): Promise<void>;
}

/** A controller by index, name (`vns3-1`), host (`127.0.0.1:port`) or any of its simulated addresses. */
export type ControllerRef = number | string;

class Handle implements SimulatedController {
  constructor(private readonly ctl: SimController) {}
  get index() { return this.ctl.identity.index; }
  get name() { return this.ctl.identity.name; }
  get host() { return this.ctl.host; }
  get port() { return this.ctl.port; }
  get url() { return `https://${this.ctl.host}/api`; }
  get password() { return this.ctl.password; }
  get apiToken() { return this.ctl.apiToken; }
  get certificate() { return this.ctl.certificate.cert; }
  get fingerprint256() { return this.ctl.certificate.fingerprint256; }
  get identity() { return this.ctl.identity; }
  get licensed() { return this.ctl.licensed; }
  get peerId() { return this.ctl.peerId; }
  get writes() { return this.ctl.writes; }
  get requestLog() { return this.ctl.requestLog; }
  // Never show the password when a test or log prints the handle.
  toJSON() {
    return { name: this.name, host: this.host, identity: this.identity, fingerprint256: this.fingerprint256 };
  }
}

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
  ...containerOperations,
};

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const count = options.controllers ?? 4;
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError(`controllers must be an integer from 1 to 1000, got ${count}`);
  const timings = resolveTimings(options.profile, options.scale, options.timings);
  const fabric = new Fabric();
  const timers = new Set<NodeJS.Timeout>();
  const controllers: SimController[] = [];
  let stopped = false;
  const world: SimWorld = {
    fabric,
    timings,
    controllerAt: (address, from) => fabric.reach(from, address) as SimController | undefined,
    later(ms, fn) {
      if (stopped) return;
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    random: seededRandom(options.seed ?? 0x5eed),
  };
  const sleep = (ms: number) => new Promise<void>((resolve) => world.later(ms, resolve));
  const validator = specValidator();

  const certificates = await Promise.all(Array.from({ length: count }, (_, i) => makeCertificate(`vns3-${i + 1}`)));
  for (let i = 0; i < count; i++) {
    const identity = defaultIdentity(i, { subnet: options.subnets?.[i], cloudType: options.cloudType });
    const password =
      typeof options.password === 'function' ? options.password(i) : (options.password ?? randomBytes(12).toString('base64url'));
    const port = options.firstPort ? options.firstPort + i : 0;
    const ctl = new SimController(identity, password, randomBytes(24).toString('hex'), certificates[i]!, port, world, {
      containerSystemRunning: options.containerSystemRunning,
    });
    ctl.listener = attachServer(ctl, { operations: OPERATIONS, validator, validateResponses: options.validateResponses ?? false, sleep });
    fabric.add(ctl);
    controllers.push(ctl);
  }
  try {
    await Promise.all(controllers.map((c) => c.listener?.open()));
  } catch (err) {
    await Promise.all(controllers.map((c) => c.stop()));
    throw err;
  }

  const find = (ref: ControllerRef): SimController => {
    const ctl =
      typeof ref === 'number'
        ? controllers[ref]
        : controllers.find((c) => c.name === ref || c.host === ref || c.addresses.includes(ref));
    if (!ctl) throw new RangeError(`no simulated controller ${JSON.stringify(ref)}`);
    return ctl;
  };
  const handles = controllers.map((c) => new Handle(c));

  return {
    controllers: handles,
    timings,
    license: (o) => issueLicense({ controllers: count, ...o }),
    controller: (ref) => handles[find(ref).identity.index]!,
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
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(controllers.map((c) => c.stop()));
    },
  };
}
