/**
 * Where an HA configuration comes from: the plugin's vars.yml (which may be absent), the
 * `HAENV_*` environment (winning over the file) and a caller's overrides (winning over both).
 */
import { access, readFile } from 'node:fs/promises';
import { load } from 'js-yaml';
import { DEFAULT_HA_CONFIG_FILE, HA_ENV_PREFIX, haEnvName, parseHaConfig, settingKey, type HaConfig } from './config.js';
import { Vns3HaConfigError, type HaConfigProblem } from './errors.js';

/** Where {@link loadHaConfig} reads the settings. */
export interface LoadHaConfigOptions {
  /** The YAML file; default /opt/hacontainer/conf/vars.yml (may be absent); `null` reads no file. */
  file?: string | null | undefined;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Win over both file and environment; snake_case or camelCase keys. */
  overrides?: Record<string, unknown> | undefined;
  /** Used where neither file nor environment nor overrides set a key (`vns3-ha`'s plugin defaults). */
  defaults?: Record<string, unknown> | undefined;
}

function errCode(e: unknown): string | undefined {
  return e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

async function readVarsFile(path: string, mustExist: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!mustExist && errCode(e) === 'ENOENT') return undefined;
    throw new Vns3HaConfigError([{ key: 'file', envName: path, reason: `cannot be read (${errCode(e) ?? 'error'})` }]);
  }
  // js-yaml 5 refuses an empty document; an empty vars.yml just means "all from the environment".
  if (text.split('\n').every((line) => /^\s*(#.*)?$/.test(line))) return {};
  let doc: unknown;
  try {
    // json: true lets a repeated key (the plugin's own example repeats sleep_time) override the earlier one.
    doc = load(text, { json: true, filename: path });
  } catch (e) {
    // js-yaml's message quotes the offending lines, which may hold passwords: keep only reason and position.
    const y = e as { reason?: string; mark?: { line?: number; column?: number } };
    const where = y.mark?.line !== undefined ? ` at line ${y.mark.line + 1}, column ${(y.mark.column ?? 0) + 1}` : '';
    throw new Vns3HaConfigError([{ key: 'file', envName: path, reason: `is not valid YAML: ${y.reason ?? 'parse error'}${where}` }]);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Vns3HaConfigError([{ key: 'file', envName: path, reason: 'must be a YAML map of variable: value' }]);
  }
  return doc as Record<string, unknown>;
}

/**
 * Reads the file (if any) and `HAENV_*`, environment winning, then overrides; validates everything
 * at once. Throws `Vns3HaConfigError` for a file that was named but cannot be read, invalid YAML,
 * any bad setting, or a `ca_file` / `azure_ca_file` that cannot be read.
 */
export async function loadHaConfig(options: LoadHaConfigOptions = {}): Promise<HaConfig> {
  const { file = DEFAULT_HA_CONFIG_FILE, env = process.env, overrides = {}, defaults = {} } = options;
  const raw: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  for (const [k, v] of Object.entries(defaults)) {
    raw[settingKey(k)] = v;
    origins[settingKey(k)] = 'defaults';
  }
  if (file !== null) {
    const fromFile = await readVarsFile(file, options.file !== undefined);
    for (const [k, v] of Object.entries(fromFile ?? {})) {
      raw[k] = v;
      origins[k] = file;
    }
  }
  for (const [name, v] of Object.entries(env)) {
    // An empty variable counts as unset, so that `HAENV_X=` in a compose file does not hide the file's value.
    if (!name.startsWith(HA_ENV_PREFIX) || v === undefined || v.trim() === '') continue;
    const key = name.slice(HA_ENV_PREFIX.length).toLowerCase();
    raw[key] = v;
    origins[key] = name;
  }
  for (const [k, v] of Object.entries(overrides)) {
    const key = settingKey(k);
    raw[key] = v;
    origins[key] = 'overrides';
  }
  const cfg = parseHaConfig(raw, { origins });
  await assertFilesReadable(cfg, origins);
  return cfg;
}

/** The CA files must exist now: a missing one would otherwise surface as a TLS failure per check. */
async function assertFilesReadable(cfg: HaConfig, origins: Record<string, string>): Promise<void> {
  const missing: HaConfigProblem[] = [];
  for (const [key, path] of [['ca_file', cfg.caFile], ['azure_ca_file', cfg.azureCaFile]] as const) {
    if (path === undefined) continue;
    try {
      await access(path);
    } catch (e) {
      missing.push({ key, envName: haEnvName(key), reason: `file cannot be read (${errCode(e) ?? 'error'})`, shown: JSON.stringify(path), origin: origins[key] });
    }
  }
  if (missing.length > 0) throw new Vns3HaConfigError(missing, cfg.warnings);
}
