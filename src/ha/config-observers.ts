/**
 * The `observers` setting: further controllers of the mesh whose own view of the primary (their
 * `GET /peering`, over their own links) breaks a tie the pair's witnesses cannot, so that a
 * standby cut off from a live primary does not take over its routes. Listed standbys count as
 * observers too; a configuration whose witnesses cannot break a tie (`cloud: overlay`, or
 * `cloud_veto: false`) and has neither is refused (agent.ts).
 */
import { apiUrlFor, ip, isAbsent, listSetting, nonEmpty, url } from './config-values.js';
import { BadValue } from './errors.js';

/** A controller that only watches the primary for the agent. */
export interface HaObserver {
  name: string;
  /** Default `https://<underlay_ip>:<api_port>`. */
  apiUrl: string;
  apiPassword?: string | undefined;
}

const OBSERVER_KEYS = ['name', 'underlay_ip', 'api_url', 'api_password'];

/**
 * The `observers` list (YAML list, or JSON from the environment): each `{name, underlay_ip or
 * api_url, api_password}`. Problems go to `bad`, one per field, values never echoed for passwords.
 */
export function parseObservers(value: unknown, apiPort: number, bad: (key: string, reason: string, value?: unknown) => void): HaObserver[] {
  if (isAbsent(value)) return [];
  const list = listSetting('observers', value, '{name, api_url or underlay_ip, api_password}', bad);
  if (!list) return [];
  const out: HaObserver[] = [];
  list.forEach((item: unknown, i) => {
    const at = `observers[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return bad(at, 'must be a map with name and api_url (or underlay_ip)');
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!OBSERVER_KEYS.includes(k)) bad(`${at}.${k}`, 'is not an observer setting');
    const field = <T>(k: string, parse: (v: unknown) => T): T | undefined => {
      if (isAbsent(o[k])) return undefined;
      try {
        return parse(o[k]);
      } catch (e) {
        if (!(e instanceof BadValue)) throw e;
        bad(`${at}.${k}`, e.message, k === 'api_password' ? undefined : o[k]);
        return undefined;
      }
    };
    const name = field('name', nonEmpty);
    const underlayIp = field('underlay_ip', ip);
    const apiUrl = field('api_url', url) ?? (underlayIp && apiUrlFor(underlayIp, apiPort));
    if (name === undefined) bad(`${at}.name`, 'is required');
    if (!apiUrl) bad(`${at}.api_url`, 'is required (or underlay_ip)');
    if (name !== undefined && apiUrl) out.push({ name, apiUrl, apiPassword: field('api_password', nonEmpty) });
  });
  return out;
}

/** What {@link tieBreakProblem} reads of a configuration. */
interface TieBreakSettings {
  mode: string;
  cloud: string;
  cloudVeto: boolean;
  standbys: readonly unknown[];
  observers?: readonly unknown[] | undefined;
}

/**
 * Why a standby of this configuration could split the brain, or undefined when it cannot. With
 * `cloud: overlay` or `cloud_veto: false`, no witness of the pair tells a dead primary from one this
 * standby is cut off from; another controller's view (an observer, or a listed standby) must break
 * the tie. One rule for the agent (which refuses such a configuration when it is created) and for
 * `deployHaPlugin` (which refuses to deploy one).
 */
export function tieBreakProblem(cfg: TieBreakSettings): string | undefined {
  if (cfg.mode !== 'secondary' || (cfg.cloud !== 'overlay' && cfg.cloudVeto) || cfg.standbys.length > 0 || (cfg.observers ?? []).length > 0) return undefined;
  const why = cfg.cloud === 'overlay' ? 'with cloud: overlay' : 'with cloud_veto: false';
  return (
    `needs at least one entry ${why}: no witness of the pair can then tell a dead primary from one this standby is cut off from, ` +
    'and taking over from a live primary is split brain; list another controller of the mesh (name, api_url, api_password) whose view ' +
    'of the primary breaks the tie, or use cloud_veto: true'
  );
}
