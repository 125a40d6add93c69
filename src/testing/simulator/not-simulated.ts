import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SimApiError } from './errors.js';
import type { OperationTable } from './operations/types.js';
import type { SpecValidator } from './validate.js';

/**
 * The answer of an operation our spec types but the simulator does not implement. 501 is the
 * honest HTTP status ("the server does not support the functionality required"), and no VNS3
 * controller sends it, so a client cannot mistake it for a controller's refusal; the body is the
 * controller's error envelope so clients parse it as any other error (in vns3-sdk: a
 * `Vns3ApiError` with `status` 501 and `errorName` `NotSimulated`). Not retried: only 502/503 are.
 */
export const NOT_SIMULATED_STATUS = 501;
/** `error.name` of the not-simulated answer. */
export const NOT_SIMULATED_NAME = 'NotSimulated';

// Same layout as validate.ts's spec lookup: three levels below the package root (src/, dist/), four
// in the CommonJS build.
const PACKAGE_CANDIDATES = ['../../../package.json', '../../../../package.json'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

function readSdkVersion(): string {
  for (const path of PACKAGE_CANDIDATES) {
    if (!existsSync(path)) continue;
    try {
      const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'vns3-sdk' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // An unreadable package.json only loses the version in a message.
    }
  }
  return 'unknown';
}

let sdkVersion: string | undefined;

/** The error a not-simulated operation answers, naming it by method and path template. */
export function notSimulated(method: string, template: string): SimApiError {
  sdkVersion ??= readSdkVersion();
  return new SimApiError(
    NOT_SIMULATED_STATUS,
    `${method} ${template} is not simulated by vns3-sim (vns3-sdk ${sdkVersion}); see README 'API coverage'`,
    NOT_SIMULATED_NAME,
  );
}

/**
 * The table the server dispatches on: the simulated operations, and for every other operation of
 * the spec a handler answering {@link notSimulated}. The handler runs after the request passed the
 * spec's checks (path, credentials, body), so a malformed request still gets the controller's 400.
 */
export function withNotSimulated(simulated: OperationTable, validator: SpecValidator): OperationTable {
  const table: OperationTable = { ...simulated };
  for (const op of validator.operations) {
    const key = `${op.method} ${op.template}`;
    table[key] ??= () => {
      throw notSimulated(op.method, op.template);
    };
  }
  return table;
}
