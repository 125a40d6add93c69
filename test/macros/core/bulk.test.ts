import { describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../../src/client/errors.js';
import type { Vns3Event } from '../../../src/events.js';
import { sleep } from '../../../src/abort.js';
import { assertBulkOk, bulkOk, runBulk, Vns3BulkError } from '../../../src/macros/index.js';

const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `127.0.0.1:${9000 + i}`);
const id = (h: string): string => h;

describe('runBulk', () => {
  it('keeps input order and bounds concurrency', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const items = hosts(10);
    const r = await runBulk(
      items,
      id,
      async (h, { index }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Later items finish first, so order must come from the input, not completion.
        await sleep(2 * (10 - index));
        inFlight--;
        return `${h}#${index}`;
      },
      { concurrency: 3 },
    );
    expect(maxInFlight).toBe(3);
    expect(r.failed).toEqual([]);
    expect(r.succeeded.map((s) => s.controller)).toEqual(items);
    expect(r.succeeded.map((s) => s.value)).toEqual(items.map((h, i) => `${h}#${i}`));
    expect(bulkOk(r)).toBe(true);
    expect(assertBulkOk(r, 'noop')).toHaveLength(10);
  });

  it('never throws half-way and keeps every failure, including sync throws and non-Errors', async () => {
    const items = hosts(6);
    const r = await runBulk(items, id, (h, { index }) => {
      if (index === 1) throw new Error('sync boom');
      if (index === 3) return Promise.reject('plain string');
      if (index === 4) return Promise.reject(new Error(`license rejected by ${h}`));
      return Promise.resolve(index);
    });
    expect(r.succeeded.map((s) => s.value)).toEqual([0, 2, 5]);
    expect(r.failed.map((f) => f.controller)).toEqual([items[1], items[3], items[4]]);
    expect(r.failed.every((f) => f.error instanceof Error)).toBe(true);
    expect(r.failed.map((f) => f.error.message)).toEqual(['sync boom', 'plain string', `license rejected by ${items[4]}`]);
    expect(bulkOk(r)).toBe(false);
  });

  it('fails items not yet started with the abort reason, and passes the signal to started ones', async () => {
    const ac = new AbortController();
    const reason = new Error('operator cancelled');
    const started: number[] = [];
    const r = await runBulk(
      hosts(6),
      id,
      (_h, { signal, index }) => {
        started.push(index);
        if (index === 1) ac.abort(reason);
        return new Promise<number>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason);
          const t = setTimeout(() => resolve(index), 2000);
          signal?.addEventListener('abort', () => {
            clearTimeout(t);
            reject(signal.reason);
          });
        });
      },
      { concurrency: 2, signal: ac.signal },
    );
    expect(started).toEqual([0, 1]);
    expect(r.succeeded).toEqual([]);
    expect(r.failed).toHaveLength(6);
    for (const f of r.failed) expect(f.error).toBe(reason);
  });

  it('reports progress events and a summary', async () => {
    const events: Vns3Event[] = [];
    await runBulk(hosts(3), id, async (_h, { index }) => {
      if (index === 2) throw new Error('nope');
      return index;
    }, { step: 'keyset.fetch', onEvent: (e) => events.push(e) });
    const summary = events.find((e) => e.controller === '*');
    expect(summary).toMatchObject({ step: 'keyset.fetch', level: 'warn', data: { total: 3, succeeded: 2, failed: 1 } });
    expect(events.filter((e) => e.level === 'error').map((e) => e.controller)).toEqual(['127.0.0.1:9002']);
  });

  it('survives a throwing name function', async () => {
    const r = await runBulk([1, 2], (n) => {
      if (n === 2) throw new Error('no name');
      return `c${n}`;
    }, async (n) => n * 10);
    expect(r.succeeded).toEqual([{ controller: 'c1', value: 10 }, { controller: '#1', value: 20 }]);
  });

  it('rejects a bad concurrency before running anything', async () => {
    let ran = false;
    const run = (c: number) => runBulk([1], String, async () => { ran = true; }, { concurrency: c });
    await expect(run(0)).rejects.toBeInstanceOf(Vns3ValidationError);
    await expect(run(1.5)).rejects.toThrowError(/concurrency/);
    expect(ran).toBe(false);
  });

  it('handles an empty list', async () => {
    expect(await runBulk([], String, async () => 1)).toEqual({ succeeded: [], failed: [] });
  });
});

describe('assertBulkOk', () => {
  it('throws Vns3BulkError listing each failed controller and carrying the result', async () => {
    const items = hosts(4);
    const r = await runBulk(items, id, async (h, { index }) => {
      if (index % 2 === 1) throw new Error(`HTTP 500 from ${h}\nsecond line of detail`);
      return index;
    });
    let caught: unknown;
    try {
      assertBulkOk(r, 'License upload');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Vns3BulkError);
    const err = caught as Vns3BulkError;
    expect(err.message).toBe(
      'License upload failed on 2 of 4 controllers:\n' +
        '  127.0.0.1:9001 — HTTP 500 from 127.0.0.1:9001\n' +
        '  127.0.0.1:9003 — HTTP 500 from 127.0.0.1:9003',
    );
    expect(err.result).toBe(r);
    expect(err.result.succeeded.map((s) => s.value)).toEqual([0, 2]);
  });
});
