/**
 * Every error the HA engine raises, in one place. They extend `Vns3Error`, so a caller that catches
 * the SDK's errors catches these too. None carries a password or a cloud SDK's own error object:
 * both end up in logs, and the SDK errors hold the signed request (Azure's even the bearer token).
 */
import { Vns3Error } from '../client/index.js';
import type { RouteChange } from './cloud/types.js';

/** One thing wrong with the HA configuration, named as the operator writes it. */
export interface HaConfigProblem {
  /** As the operator writes it in vars.yml, e.g. `peer_overlay_ip` or `standbys[1].underlay_ip`. */
  key: string;
  /** The `HAENV_` variable that sets it (for a file problem: the file's path). */
  envName: string;
  reason: string;
  /** The bad value as shown in messages; passwords are `[redacted]`. */
  shown?: string;
  /** Where the value came from (file path, `environment`, `overrides`). */
  origin?: string;
}

/**
 * Raised by `parseHaConfig`, `loadHaConfig`, `createHaAgent` and `createCloudProvider` when the
 * configuration is unusable: a missing or malformed setting, an unreadable or invalid vars.yml, a
 * `ca_file` that cannot be read, a cloud without its region or resource group, Azure without a
 * credential. Lists every problem at once (a container that dies on the first typo takes a restart
 * per typo); `warnings` carries the non-fatal remarks gathered so far.
 */
export class Vns3HaConfigError extends Vns3Error {
  readonly problems: HaConfigProblem[];
  readonly warnings: string[];

  constructor(problems: HaConfigProblem[], warnings: string[] = []) {
    const lines = problems.map((p) => {
      const value = p.shown === undefined ? '' : ` = ${p.shown}`;
      const origin = p.origin ? ` [from ${p.origin}]` : '';
      return `  - ${p.key} (${p.envName})${value}: ${p.reason}${origin}`;
    });
    const n = problems.length;
    super(`Invalid HA configuration (${n} problem${n === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'Vns3HaConfigError';
    this.problems = problems;
    this.warnings = warnings;
  }
}

/** What a {@link CloudApiError} reports. */
export interface CloudApiErrorInit {
  cloud: 'aws' | 'azure';
  /** The SDK operation, e.g. `ReplaceRoute` or `routes.createOrUpdate`. */
  operation: string;
  /** The cloud's error code (`InvalidRoute.NotFound`, `ResourceNotFound` …). */
  code?: string | undefined;
  status?: number | undefined;
  /** The cloud's message; cloud messages carry no credentials of ours. */
  reason: string;
  tableId?: string | undefined;
  destination?: string | undefined;
}

/**
 * Raised by the AWS and Azure route providers when a cloud API call fails (throttling, missing
 * permission, a route table that is gone), and by `resolve()` (code `NotFound`) when no instance
 * or network interface has the private IP asked for. An abort is never turned into this error.
 * The SDK's own error is deliberately not kept as `cause`: it holds the signed request, whose
 * headers must not reach logs.
 */
export class CloudApiError extends Vns3Error {
  readonly cloud: 'aws' | 'azure';
  readonly operation: string;
  readonly code?: string;
  readonly status?: number;
  readonly tableId?: string;
  readonly destination?: string;

  constructor(init: CloudApiErrorInit) {
    const where = [init.tableId && `table ${init.tableId}`, init.destination && `route ${init.destination}`]
      .filter(Boolean)
      .join(', ');
    const code = init.code ? `${init.code}: ` : '';
    super(`${init.cloud} ${init.operation}${where ? ` (${where})` : ''} failed: ${code}${init.reason}`);
    this.name = 'CloudApiError';
    this.cloud = init.cloud;
    this.operation = init.operation;
    this.code = init.code;
    this.status = init.status;
    this.tableId = init.tableId;
    this.destination = init.destination;
  }
}

/** One route a {@link RouteChangeError} could not move, and why. */
export interface RouteFailure {
  tableId: string;
  destination: string;
  error: Error;
}

/**
 * Raised by a provider's `pointRoutesAt` when some routes could not be pointed at the new target
 * while the others were: it moves every route it can before raising. The routes that were handled
 * are in `changes`, so that a failover can report (and retry) exactly what is left.
 */
export class RouteChangeError extends Vns3Error {
  readonly changes: RouteChange[];
  readonly failures: RouteFailure[];

  constructor(changes: RouteChange[], failures: RouteFailure[]) {
    const list = failures.map((f) => `${f.tableId} ${f.destination}: ${f.error.message}`).join('; ');
    super(`${failures.length} of ${changes.length + failures.length} route(s) could not be updated: ${list}`);
    this.name = 'RouteChangeError';
    this.changes = changes;
    this.failures = failures;
  }
}

/**
 * Internal: raised by a single-setting parser (config-values.ts) when a value does not fit its
 * setting. The message is the reason alone; the configuration parser catches it and turns it into
 * a {@link HaConfigProblem} that names the key, so it never reaches a caller.
 */
export class BadValue extends Error {}

/**
 * Internal: raised by the `vns3-ha` command's argument parser on an unknown option or a missing
 * value; the command prints it with the usage text and exits 2.
 */
export class HaUsageError extends Error {}
