import type { Vns3EventHandler } from '../events.js';

/** Options every macro that talks to a controller accepts. */
export interface MacroOptions {
  signal?: AbortSignal;
  /** Structured progress: controller, step, detail. Never carries a secret. */
  onEvent?: Vns3EventHandler;
}

/** Options of macros that wait for a controller to reach a state. */
export interface WaitingMacroOptions extends MacroOptions {
  timeoutMs?: number;
  /** First poll interval; later ones back off. */
  intervalMs?: number;
}

/** Options of macros that act on many controllers at once. */
export interface BulkMacroOptions extends MacroOptions {
  /** How many controllers are worked on at the same time (default 16). */
  concurrency?: number;
}
