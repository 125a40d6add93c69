import { Vns3ValidationError } from '../../client/index.js';

/**
 * How long the slow parts of a controller take. Tests want them near zero; benchmarks want the
 * proportions of a real controller (minutes for a reboot, tens of seconds for a keyset) scaled down.
 */
export interface SimTimings {
  /** After licensing (or a reboot fault): the listener is closed and connections dropped this long. */
  rebootOutageMs: number;
  /** Then the web front answers 502/503 this long before the API is back. */
  reboot5xxMs: number;
  /** Background keyset generation on the root. */
  keysetGenerationMs: number;
  /** Background keyset fetch from a source controller. */
  keysetFetchMs: number;
  /**
   * Whether a successful keyset fetch reboots the controller (real controllers do). Without a reboot
   * the fetched license applies at once: `Keyset already exists.`, then `GET /keyset` shows the keyset.
   */
  rebootAfterFetch: boolean;
  /**
   * With `rebootAfterFetch`, which of the orderings clients accept (VNS3_BEHAVIOUR.md, "What clients
   * written by others rely on") the controller shows once the fetch ends on its own clock:
   * - `0`: it reboots the moment the fetch ends; a duplicate `PUT /keyset` in flight fails at the
   *   connection level, and after the reboot the keyset and the license are both there;
   * - more: the keyset is present but the license is not applied until the reboot, this long after
   *   the fetch ended (`PUT /keyset` answers `Keyset already exists.`, `GET /keyset` an error
   *   containing `must be licensed`, then the reboot follows). The reboot never falls between a
   *   `Keyset already exists.` reply and the client's next request: it waits for that request's
   *   reply (or, if none comes, as long again).
   */
  fetchRebootDelayMs: number;
  /** Image import before the image is `Ready` (or failed). */
  imageImportMs: number;
  /** Container system start/stop (`starting` / `stopping` in between). */
  containerSystemTransitionMs: number;
  /** A peer link comes up this long after both sides configured each other and can reach each other. */
  peerLinkUpMs: number;
  /** After `PUT /admin_ui` the API answers 502 this long. */
  adminUi502Ms: number;
  /** Added to every request. */
  requestLatencyMs: number;
}

/**
 * Near zero, but a reboot still closes the listener, so clients see a real connection failure.
 * Keyset fetch ordering: the peer reboots the moment its fetch ends (`fetchRebootDelayMs: 0`).
 */
export const FAST_TIMINGS: SimTimings = {
  rebootOutageMs: 150,
  reboot5xxMs: 100,
  keysetGenerationMs: 50,
  keysetFetchMs: 50,
  rebootAfterFetch: true,
  fetchRebootDelayMs: 0,
  imageImportMs: 50,
  containerSystemTransitionMs: 30,
  peerLinkUpMs: 20,
  adminUi502Ms: 50,
  requestLatencyMs: 0,
};

/**
 * The default of `vns3-sim`: short enough to work with by hand, long enough that a client polling
 * every second or two still sees a reboot as a connection failure, as VNS3_BEHAVIOUR.md requires of
 * a real controller ("the outage must last well over a second"). Keyset fetch ordering: as
 * `realistic`, the keyset is present with the license unapplied (`GET /keyset` says `must be
 * licensed`) for a second, then the peer reboots.
 */
export const STANDARD_TIMINGS: SimTimings = {
  rebootOutageMs: 3_000,
  reboot5xxMs: 1_000,
  keysetGenerationMs: 2_000,
  keysetFetchMs: 1_500,
  rebootAfterFetch: true,
  fetchRebootDelayMs: 1_000,
  imageImportMs: 2_000,
  containerSystemTransitionMs: 500,
  peerLinkUpMs: 1_000,
  adminUi502Ms: 500,
  requestLatencyMs: 0,
};

/**
 * Orders of magnitude from a real controller (VNS3_BEHAVIOUR.md, "Timings"), unscaled. Keyset fetch
 * ordering: the one a real controller shows, the keyset present but the license not applied until
 * the reboot (`GET /keyset` says `must be licensed`), which follows 10 s after the fetch ended.
 */
export const REALISTIC_TIMINGS: SimTimings = {
  rebootOutageMs: 90_000,
  reboot5xxMs: 20_000,
  keysetGenerationMs: 30_000,
  keysetFetchMs: 20_000,
  rebootAfterFetch: true,
  fetchRebootDelayMs: 10_000,
  imageImportMs: 45_000,
  containerSystemTransitionMs: 10_000,
  peerLinkUpMs: 5_000,
  adminUi502Ms: 3_000,
  requestLatencyMs: 20,
};

/** How long simulated operations take: `fast` for unit tests, `standard` (the default) for examples, `realistic` for the durations of a real controller (reboots of about two minutes). */
export type TimingProfile = 'fast' | 'standard' | 'realistic';

const PROFILES: Record<TimingProfile, SimTimings> = { fast: FAST_TIMINGS, standard: STANDARD_TIMINGS, realistic: REALISTIC_TIMINGS };

/**
 * Resolves a profile, scales its durations (`scale` 0.01 turns a 90 s reboot into 0.9 s) and applies
 * overrides, which are taken as given (not scaled). Throws `Vns3ValidationError` for a scale that is
 * not a positive number or an unknown profile.
 */
export function resolveTimings(
  profile: TimingProfile = 'fast',
  scale = 1,
  overrides: Partial<SimTimings> = {},
): SimTimings {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Vns3ValidationError('scale', scale, 'must be a positive number');
  const base = PROFILES[profile];
  if (!base) throw new Vns3ValidationError('profile', profile, "must be 'fast', 'standard' or 'realistic'");
  const scaled = { ...base };
  for (const key of Object.keys(scaled) as (keyof SimTimings)[]) {
    const value = scaled[key];
    if (typeof value === 'number') (scaled[key] as number) = Math.round(value * scale);
  }
  // Merged key by key: an override given as `undefined` means "not overridden", not "no timing".
  for (const [key, value] of Object.entries(overrides) as [keyof SimTimings, number | boolean | undefined][]) {
    if (value !== undefined) (scaled as Record<keyof SimTimings, number | boolean>)[key] = value;
  }
  return scaled;
}
