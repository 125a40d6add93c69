import { inspect } from 'node:util';
import { createClient, type Vns3Client, type Vns3ClientOptions } from '../../client/index.js';
import type { RequestLogEntry, SimController } from './controller.js';
import type { ControllerIdentity } from './identity.js';

/**
 * What a client of a simulated controller may still choose: everything `createClient` takes except
 * where to connect and how to authenticate and trust, which the controller decides. A `dispatcher`
 * is left out too: a caller's dispatcher carries its own TLS settings and would undo the pin.
 */
export type SimClientOptions = Omit<
  Vns3ClientOptions,
  'host' | 'username' | 'password' | 'apiToken' | 'ca' | 'fingerprint256' | 'insecure' | 'dispatcher'
>;

/** One simulated controller as the caller sees it: where to reach it and how to inject faults. */
export interface SimulatedController {
  /** Position in `sim.controllers`, 0-based. */
  readonly index: number;
  /** `vns3-1`, `vns3-2`, … */
  readonly name: string;
  /** `127.0.0.1:<port>`: give this as `host` to the client. */
  readonly host: string;
  /** The loopback port it listens on (kept across reboots). */
  readonly port: number;
  /** `https://127.0.0.1:<port>/api` */
  readonly url: string;
  /** The current API password (changes after `PUT /api_password`). */
  readonly password: string;
  /** Accepted in the `api-token` header instead of basic auth. */
  readonly apiToken: string;
  /** PEM of the self-signed certificate: pass as `ca`. */
  readonly certificate: string;
  /** Pass as `fingerprint256` to pin the certificate. */
  readonly fingerprint256: string;
  /** Who it is on its simulated cloud network: addresses, subnet, ASN, instance id. */
  readonly identity: ControllerIdentity;
  /** True once a license has been accepted (the controller has rebooted licensed). */
  readonly licensed: boolean;
  /** Its peering id, once set. */
  readonly peerId: number | undefined;
  /** Write requests (POST, PUT, DELETE) received since start or the last `resetCounters()`. */
  readonly writes: number;
  /** Every request received since start or the last `resetCounters()`, in arrival order. */
  readonly requestLog: readonly RequestLogEntry[];
  /**
   * A new client for this controller, pinned to its certificate and logged in with its current
   * password (read now: after a password roll, connect again). The caller closes it. Throws
   * `Vns3ValidationError` for an invalid option, as `createClient` does.
   */
  connect(options?: SimClientOptions): Vns3Client;
}

/**
 * The caller's view of a {@link SimController}: read-only, and never shows the password, API token
 * or keyset token when printed, inspected or serialised (the controller sits in a private field).
 */
export class ControllerHandle implements SimulatedController {
  readonly #ctl: SimController;
  constructor(ctl: SimController) {
    this.#ctl = ctl;
  }
  private get ctl(): SimController {
    return this.#ctl;
  }
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

  connect(options: SimClientOptions = {}): Vns3Client {
    // The controller's own settings come last, so that no option can unpin or re-point the client.
    return createClient({ ...options, host: this.host, password: this.password, fingerprint256: this.fingerprint256 });
  }

  // Never show the password when a test or log prints the handle.
  toJSON() {
    return { name: this.name, host: this.host, identity: this.identity, fingerprint256: this.fingerprint256 };
  }

  [inspect.custom](depth: number, options: { stylize: (text: string, style: string) => string }, show: typeof inspect): string {
    if (depth < 0) return options.stylize(`[SimulatedController ${this.name}]`, 'special');
    return `SimulatedController ${show({ name: this.name, host: this.host, licensed: this.licensed, peerId: this.peerId, identity: this.identity }, { ...options, depth: depth - 1 })}`;
  }
}
