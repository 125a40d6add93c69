import { describe, expect, it } from 'vitest';
import { Vns3ApiError, Vns3ValidationError, type Vns3Client } from '../../../src/client/index.js';
import { readThenWrite } from '../../../src/macros/index.js';

// readThenWrite uses nothing of a client but its host: stand-ins keep these tests about the shape.
const clients = ['a:8000', 'b:8000', 'c:8000'].map((host) => ({ host }) as Vns3Client);
const steps = { readStep: 'test.read', writeStep: 'test.write' };

describe('readThenWrite', () => {
  it('plans from every reading and writes each controller its own plan', async () => {
    const order: string[] = [];
    const seenByPlan: (number | undefined)[] = [];
    const result = await readThenWrite(
      clients,
      {
        read: async (client, { index }) => {
          order.push(`read ${client.host}`);
          return index * 10;
        },
        plan: (readings) => {
          order.push('plan');
          seenByPlan.push(...readings.map((r) => r.value));
          const total = readings.reduce((sum, r) => sum + (r.value ?? 0), 0);
          return readings.map((r) => total - (r.value ?? 0));
        },
        write: async (client, others, { reading }) => {
          order.push(`write ${client.host}`);
          return { others, own: reading };
        },
      },
      steps,
    );
    expect(seenByPlan).toEqual([0, 10, 20]);
    expect(order.indexOf('plan')).toBe(3);
    expect(order.slice(4).sort()).toEqual(['write a:8000', 'write b:8000', 'write c:8000']);
    expect(result.failed).toEqual([]);
    expect(result.succeeded.map((s) => s.value)).toEqual([
      { others: 30, own: 0 },
      { others: 20, own: 10 },
      { others: 10, own: 20 },
    ]);
  });

  it('reports a failed read or a failed plan as that controller failed, and never writes it', async () => {
    const written: string[] = [];
    const readError = new Error('connection refused');
    const planError = new Error('peer id not set');
    const result = await readThenWrite(
      clients,
      {
        read: async (client) => {
          if (client.host === 'a:8000') throw readError;
          return client.host;
        },
        plan: (readings) => {
          expect(readings[0]!.error).toBe(readError);
          return readings.map((r) => (r.client.host === 'b:8000' ? planError : 'ok'));
        },
        write: async (client) => {
          written.push(client.host);
          return client.host;
        },
      },
      steps,
    );
    expect(written).toEqual(['c:8000']);
    expect(result.failed).toEqual([
      { controller: 'a:8000', error: readError },
      { controller: 'b:8000', error: planError },
    ]);
    expect(result.succeeded).toEqual([{ controller: 'c:8000', value: 'c:8000' }]);
  });

  it('stops before any write when the plan throws', async () => {
    let writes = 0;
    const bad = new Vns3ValidationError('ids[1]', 9, 'out of range');
    const run = readThenWrite(
      clients,
      {
        read: async () => 1,
        plan: () => {
          throw bad;
        },
        write: async () => ++writes,
      },
      steps,
    );
    await expect(run).rejects.toBe(bad);
    expect(writes).toBe(0);
  });
});

describe('readThenWrite reconciles after transient failures', () => {
  const unavailable = (host: string): Vns3ApiError => new Vns3ApiError({ status: 503, method: 'POST', path: '/routes', host });

  it('re-reads and re-plans a controller whose write failed transiently, then writes what is still missing', async () => {
    const log: string[] = [];
    let failures = 2;
    const result = await readThenWrite(
      clients.slice(0, 1),
      {
        read: async (client) => {
          log.push('read');
          return client.host;
        },
        plan: (readings) => {
          log.push('plan');
          return readings.map((r) => r.value!);
        },
        write: async (client, _plan, { attempt }) => {
          log.push(`write ${attempt}`);
          if (failures-- > 0) throw unavailable(client.host);
          return attempt;
        },
      },
      { ...steps, retryBudget: { minDelayMs: 1 } },
    );
    expect(result.succeeded.map((s) => s.value)).toEqual([3]);
    // Every write after the first is preceded by a fresh read and plan.
    expect(log).toEqual(['read', 'plan', 'write 1', 'read', 'plan', 'write 2', 'read', 'plan', 'write 3']);
  });

  it('reports the last error once the budget is spent, and never retries a refusal', async () => {
    let writes = 0;
    const result = await readThenWrite(
      clients.slice(0, 2),
      {
        read: async () => 1,
        plan: (readings) => readings.map(() => 1),
        write: async (client, _plan, { index }) => {
          writes++;
          if (index === 0) throw unavailable(client.host);
          throw new Vns3ValidationError('x', 1, 'refused');
        },
      },
      { ...steps, retryBudget: { attempts: 3, minDelayMs: 1 } },
    );
    expect(result.failed.map((f) => [f.controller, f.error.constructor.name])).toEqual([
      ['a:8000', 'Vns3ApiError'],
      ['b:8000', 'Vns3ValidationError'],
    ]);
    expect(writes).toBe(3 + 1);
  });

  it('does not count an attempt that made progress against the budget', async () => {
    let calls = 0;
    const result = await readThenWrite(
      clients.slice(0, 1),
      {
        read: async () => 1,
        plan: (readings) => readings.map(() => 1),
        write: async (client, _plan, { progress }) => {
          calls++;
          if (calls <= 5) {
            progress();
            throw unavailable(client.host);
          }
          return calls;
        },
      },
      { ...steps, retryBudget: { attempts: 2, minDelayMs: 1 } },
    );
    expect(result.succeeded.map((s) => s.value)).toEqual([6]);
  });
});
