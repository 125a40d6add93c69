/**
 * Optional peer dependencies, loaded on demand: a consumer of the core SDK installs none of them,
 * and a feature that needs one (the simulator's schema validator, the HA agent's metrics and JSON
 * logs) loads it only when it runs. When one is missing the error names the package, the feature
 * and the exact command that installs it.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** What a feature loads on demand: each package with the version range it is tested with. */
export type OptionalPackages = Readonly<Record<string, string>>;

/**
 * Loads `name` (one of `packages`) for `feature`. Throws an `Error` naming the package, the feature
 * and the `npm install` command for every package of `packages` when it is not installed (any other
 * load failure is thrown as is). `dev`: install it as a devDependency (a test-time feature).
 */
export function requireOptional<T>(name: string, packages: OptionalPackages, feature: string, dev = false): T {
  try {
    return load(name) as T;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw err;
    const wanted = Object.entries(packages).map(([pkg, range]) => `${pkg}@${range}`).join(' ');
    throw new Error(`${feature} needs the package "${name}", which is not installed. Install it next to vns3-sdk with:\n  npm install ${dev ? '--save-dev ' : ''}${wanted}`, { cause: err });
  }
}
