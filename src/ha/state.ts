/**
 * What a standby learned of the primary, kept across restarts (`state_path`): the VNS3 routes the
 * primary advertises and the cloud routes that point at it. A standby (re)started while the
 * primary is already down has no other way to know the primary's VNS3 routes, because the mesh
 * forgets a dead controller's routes. The file is written whole and renamed into place, so a crash
 * mid-write leaves the previous version.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { RouteAddress } from './cloud/types.js';
import type { Vns3RouteSpec } from './failover.js';

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
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
