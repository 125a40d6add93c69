/**
 * The shape of every mesh macro: read every controller, plan each one's change from what was read
 * (of it and of the others), then write each difference. Reading all first means a plan can rest on
 * the whole mesh (peer addresses, ids, subnets) and that everything the writes depend on is checked
 * before the first write; a controller whose read failed is reported failed and never written.
 */
import type { Vns3Client } from '../../client/index.js';
import { runBulk } from './bulk.js';
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
  /** Reads one controller; run for all in parallel. */
  read: (client: Vns3Client, context: BulkContext) => Promise<R>;
  /**
   * Plans every controller's change from all readings, aligned with the clients. An `Error` in place
   * of a plan fails that controller only; a throw (a Vns3ValidationError) stops before any write.
   * A reading with an `error` needs no plan (its controller is reported failed whatever stands there).
   */
  plan: (readings: readonly Reading<R>[]) => Promise<readonly (P | Error)[]> | readonly (P | Error)[];
  /** Writes one controller's planned difference (or, for a dry run, only reports it). */
  write: (client: Vns3Client, plan: P, context: BulkContext & { reading: R }) => Promise<W>;
}

/** The bulk steps of a read-then-write macro, for its progress events. */
export interface ReadThenWriteSteps {
  readStep: string;
  writeStep: string;
}

/**
 * Reads every controller, plans, then writes each in parallel (bounded by `concurrency`). Every
 * controller is reported: read failures and failed plans in `failed`, the rest with what `write`
 * returned. Throws only what `plan` throws (before any write) and Vns3ValidationError for a bad
 * `concurrency`.
 */
export async function readThenWrite<R, P, W>(
  clients: readonly Vns3Client[],
  phases: ReadThenWrite<R, P, W>,
  options: BulkMacroOptions & ReadThenWriteSteps,
): Promise<BulkResult<W>> {
  const { concurrency, signal, onEvent, readStep, writeStep } = options;
  const read = await runBulk(clients, (c) => c.host, phases.read, { concurrency, signal, onEvent, step: readStep });
  const values = new Map(read.succeeded.map((s) => [s.controller, s.value]));
  const errors = new Map(read.failed.map((f) => [f.controller, f.error]));
  const readings: Reading<R>[] = clients.map((client, index) => ({ client, index, value: values.get(client.host), error: errors.get(client.host) }));
  const plans = await phases.plan(readings);
  return runBulk(
    clients,
    (c) => c.host,
    async (client, context) => {
      const reading = readings[context.index]!;
      if (reading.error) throw reading.error;
      const plan = plans[context.index];
      if (plan instanceof Error) throw plan;
      return phases.write(client, plan as P, { ...context, reading: reading.value as R });
    },
    { concurrency, signal, onEvent, step: writeStep },
  );
}
