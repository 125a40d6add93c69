/**
 * What a standby learned of the primary, kept across restarts (`state_path`): the VNS3 routes the
 * primary advertises and the cloud routes that point at it. A standby (re)started while the
 * primary is already down has no other way to know the primary's VNS3 routes, because the mesh
 * forgets a dead controller's routes. The file is written whole and renamed into place, so a crash
 * mid-write leaves the previous version.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RouteAddress } from './cloud/types.js';
import { errorText, type AgentContext } from './context.js';
import { routeKey, type Vns3RouteSpec } from './failover.js';

/** The file's content. */
export interface StandbyState {
  version: 1;
  /** The primary this was learned about; a file about another primary is ignored. */
  primary: string;
  vns3: Vns3RouteSpec[];
  cloud: RouteAddress[];
  savedAt: number;
}

/** The state saved at `path` for `primary`, undefined when there is none; throws when the file is unreadable or malformed. */
export function loadStandbyState(path: string, primary: string): StandbyState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
  const s = JSON.parse(text) as Partial<StandbyState>;
  if (s.version !== 1 || !Array.isArray(s.vns3) || !Array.isArray(s.cloud)) throw new Error(`${path} is not a vns3-ha state file`);
  return s.primary === primary ? (s as StandbyState) : undefined;
}

/** Writes `state` to `path` (through a temporary file renamed into place). */
export async function saveStandbyState(path: string, state: StandbyState): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  // The plugin container's default (<root>/state/) need not exist on a fresh container.
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * A standby's memory on disk (`state_path`): restores the cloud snapshot into the context and
 * returns the VNS3 routes; saves both when they changed. A bad or unwritable file is a warning,
 * never a failed check: the agent then works from what it sees.
 */
export class StandbyMemory {
  private saved = '';

  constructor(
    private readonly ctx: AgentContext,
    private readonly primary: string,
  ) {}

  /** What an earlier run saved about this primary (its cloud routes go into the context's snapshot). */
  restore(): { vns3: Vns3RouteSpec[] } | undefined {
    const path = this.ctx.config.statePath;
    if (!path) return undefined;
    try {
      const s = loadStandbyState(path, this.primary);
      if (!s) return undefined;
      for (const r of s.cloud) this.ctx.snapshot.set(routeKey(r), { tableId: r.tableId, destination: r.destination });
      return { vns3: s.vns3 };
    } catch (e) {
      this.ctx.event('ha.state', `cannot read state_path ${path}: ${errorText(e)}; starting without it`, undefined, 'warn');
      return undefined;
    }
  }

  /** Saves the VNS3 routes and the context's cloud snapshot when either changed. */
  async save(vns3: Vns3RouteSpec[]): Promise<void> {
    const path = this.ctx.config.statePath;
    if (!path) return;
    const state = { version: 1 as const, primary: this.primary, vns3, cloud: [...this.ctx.snapshot.values()] };
    const text = JSON.stringify(state);
    if (text === this.saved) return;
    try {
      await saveStandbyState(path, { ...state, savedAt: this.ctx.now() });
      this.saved = text;
    } catch (e) {
      this.ctx.event('ha.state', `cannot write state_path ${path}: ${errorText(e)}`, undefined, 'warn');
    }
  }
}
