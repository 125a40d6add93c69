/**
 * The simulator's own dependencies (the JSON Schema validator) are optional peer dependencies of
 * vns3-sdk: a consumer of the core SDK does not install them, and nothing loads them until a
 * simulator starts. When one is missing, the error says so and gives the exact command.
 */
import { createRequire } from 'node:module';

/** The packages the simulator loads on demand, with the version range it is tested with. */
export const SIM_DEPENDENCIES = { ajv: '^8.17.1' } as const;

const load = createRequire(import.meta.url);

/**
 * Loads one of the simulator's optional dependencies. Throws an `Error` naming the package and the
 * `npm install` command when it is not installed (any other load failure is thrown as is).
 */
export function requireSimDependency<T>(name: keyof typeof SIM_DEPENDENCIES): T {
  try {
    return load(name) as T;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw err;
    const wanted = Object.entries(SIM_DEPENDENCIES).map(([pkg, range]) => `${pkg}@${range}`).join(' ');
    throw new Error(
      `The VNS3 simulator (vns3-sdk/testing, vns3-sim) needs the package "${name}", which is not installed. ` +
        `Install it next to vns3-sdk with:\n  npm install --save-dev ${wanted}`,
      { cause: err },
    );
  }
}
