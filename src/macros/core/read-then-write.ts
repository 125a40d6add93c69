/**
 * The shape of every mesh macro: read every controller, plan each one's change from what was read
 * (of it and of the others), then write each difference. Reading all first means a plan can rest on
 * the whole mesh (peer addresses, ids, subnets) and that everything the writes depend on is checked
 * before the first write.
 *
 * It is a reconcile loop, so that one call converges on a flaky mesh: a read that fails for a
 * transient reason (5xx, dropped connection, timeout, reboot) is read again before anything is
 * planned; a write that fails so re-reads that controller, re-plans it and writes what is still
 * missing — a POST is re-sent only after a read showed it did not land. All within the caller's
 * `retryBudget` and `signal`; a controller that did not converge is reported with its last error.
 */
import type { Vns3Client } from '../../client/index.js';
import { checkConcurrency, DEFAULT_BULK_CONCURRENCY, runBulk } from './bulk.js';
import { checkClients } from './validate.js';
import { Attempts, reconcileLoop } from './reconcile.js';
import type { BulkContext, BulkMacroOptions, BulkResult } from './types.js';

/** What was read of one controller: its value, or why the read failed. */
export interface Reading<R> {
  client: Vns3Client;
  index: number;
  value?: R;
  error?: Error;
}

/** The three phases of a read-then-write macro. */
export interface ReadThenWrite<R, P, W> {
  /** Reads one controller; run for all in parallel, and again for one after a transient write failure. */
  read: (client: Vns3Client, context: BulkContext) => Promise<R>;
  /**
   * Plans every controller's change from all readings, aligned with the clients. An `Error` in place
   * of a plan fails that controller only; a throw (a Vns3ValidationError) stops before any write.
   * A reading with an `error` needs no plan (its controller is reported failed whatever stands there).
   * Must be pure: it is called again, with one reading refreshed, when a controller is re-planned.
   */
  plan: (readings: readonly Reading<R>[]) => Promise<readonly (P | Error)[]> | readonly (P | Error)[];
  /**
   * Writes one controller's planned difference (or, for a dry run, only reports it). It should
   * read what it changes before each non-idempotent write, as every macro here does.
   */
  write: (client: Vns3Client, plan: P, context: BulkContext & { reading: R; attempt: number; progress: () => void }) => Promise<W>;
}

/** The bulk steps of a read-then-write macro, for its progress events. */
export interface ReadThenWriteSteps {
  readStep: string;
  writeStep: string;
}

/**
 * Reads every controller, plans, then writes each in parallel (bounded by `concurrency`),
 * reconciling each controller after transient failures within `retryBudget`. Every controller is
 * reported: read failures, failed plans and controllers that did not converge in `failed` (with
 * the last error), the rest with what `write` returned. Throws only what `plan` throws (before
 * any write) and Vns3ValidationError for an empty client list, a bad `concurrency` or `retryBudget`.
 */
export async function readThenWrite<R, P, W>(
  clients: readonly Vns3Client[],
  phases: ReadThenWrite<R, P, W>,
  options: BulkMacroOptions & ReadThenWriteSteps,
): Promise<BulkResult<W>> {
  const { concurrency, signal, onEvent, readStep, writeStep } = options;
  checkClients(clients);
  checkConcurrency(concurrency ?? DEFAULT_BULK_CONCURRENCY);
  const attempts = new Attempts(options.retryBudget, signal);
  try {
    const readOne = (client: Vns3Client, context: BulkContext): Promise<R> =>
      reconcileLoop(client.host, readStep, () => phases.read(client, context), { attempts, signal, onEvent });
    const read = await runBulk(clients, (c) => c.host, readOne, { concurrency, signal, onEvent, step: readStep });
    const values = new Map(read.succeeded.map((s) => [s.controller, s.value]));
    const errors = new Map(read.failed.map((f) => [f.controller, f.error]));
    const readings: Reading<R>[] = clients.map((client, index) => ({ client, index, value: values.get(client.host), error: errors.get(client.host) }));
    const plans = await phases.plan(readings);

    const writeOne = async (client: Vns3Client, context: BulkContext): Promise<W> => {
      const first = readings[context.index]!;
      if (first.error) throw first.error;
      let reading = first.value as R;
      let plan = plans[context.index];
      return reconcileLoop(
        client.host,
        writeStep,
        async ({ attempt, progress }) => {
          if (attempt > 1) {
            // The last write may or may not have landed: look again and plan only what is still missing.
            reading = await phases.read(client, context);
            const refreshed = readings.map((r) => (r.index === context.index ? { ...r, value: reading, error: undefined } : r));
            plan = (await phases.plan(refreshed))[context.index];
          }
          if (plan instanceof Error) throw plan;
          return phases.write(client, plan as P, { ...context, reading, attempt, progress });
        },
        { attempts, signal, onEvent },
      );
    };
    return await runBulk(clients, (c) => c.host, writeOne, { concurrency, signal, onEvent, step: writeStep });
  } finally {
    attempts.dispose();
  }
}
