/**
 * The simulator's own dependencies (the JSON Schema validator) are optional peer dependencies of
 * vns3-sdk: a consumer of the core SDK does not install them, and nothing loads them until a
 * simulator starts. When one is missing, the error says so and gives the exact command.
 */
import { requireOptional } from '../optional.js';

/** The packages the simulator loads on demand, with the version range it is tested with. */
export const SIM_DEPENDENCIES = { ajv: '^8.17.1' } as const;

/**
 * Loads one of the simulator's optional dependencies. Throws an `Error` naming the package and the
 * `npm install` command when it is not installed (any other load failure is thrown as is).
 */
export function requireSimDependency<T>(name: keyof typeof SIM_DEPENDENCIES): T {
  return requireOptional<T>(name, SIM_DEPENDENCIES, 'The VNS3 simulator (vns3-sdk/testing, vns3-sim)', true);
}
