import { describe, expect, it } from 'vitest';
import type { Vns3Event } from '../../../src/events.js';
import { sleep } from '../../../src/abort.js';
import { Vns3ValidationError } from '../../../src/client/index.js';
import { Vns3WaitTimeoutError, pollUntil } from '../../../src/macros/index.js';

const controller = '127.0.0.1:8000';

describe('sleep', () => {
  it('resolves after the delay', async () => {
    await expect(sleep(5)).resolves.toBeUndefined();
  });
  it('rejects with the abort reason, already aborted or aborted meanwhile', async () => {
    const reason = new Error('stop');
    await expect(sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
  });
});

describe('pollUntil', () => {
  it('returns the first state that is done', async () => {
    let n = 0;
    const s = await pollUntil(
      { what: 'keyset', controller, probe: async () => ({ in_progress: ++n < 4, n }), done: (s) => !s.in_progress },
      { intervalMs: 1, timeoutMs: 10_000 },
    );
    expect(s).toEqual({ in_progress: false, n: 4 });
    expect(n).toBe(4);
  });

  it('retries probe errors until the condition holds', async () => {
    let n = 0;
    const s = await pollUntil(
      {
        what: 'API after reboot',
        controller,
        probe: async () => {
          n++;
          if (n < 3) throw new Error('ECONNREFUSED');
          return 'up';
        },
        done: (s) => s === 'up',
      },
      { intervalMs: 1, timeoutMs: 10_000 },
    );
    expect(s).toBe('up');
    expect(n).toBe(3);
  });

  it('rethrows a fatal probe error at once', async () => {
    let n = 0;
    const fatal = new Error('401 Unauthorized');
    await expect(
      pollUntil(
        { what: 'x', controller, probe: async () => { n++; throw fatal; }, done: () => true, fatal: (e) => e === fatal },
        { intervalMs: 1, timeoutMs: 10_000 },
      ),
    ).rejects.toBe(fatal);
    expect(n).toBe(1);
  });

  it('times out with what, controller, timeout and the last state', async () => {
    let caught: unknown;
    try {
      await pollUntil(
        { what: 'keyset generation', controller, probe: async () => ({ in_progress: true, password: 'hunter2' }), done: () => false },
        { intervalMs: 5, timeoutMs: 60 },
      );
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Vns3WaitTimeoutError);
    const err = caught as Vns3WaitTimeoutError;
    expect(err).toMatchObject({ what: 'keyset generation', controller, timeoutMs: 60 });
    expect(err.lastState).toContain('"in_progress":true');
    expect(err.message).toMatch(/Timed out after 60 ms waiting for keyset generation on 127\.0\.0\.1:8000 \(last state: .*in_progress/);
    // The default description must not leak secret-looking fields.
    expect(err.message).not.toContain('hunter2');
  });

  it('uses describe() and reports the last probe error on timeout', async () => {
    let n = 0;
    const err = await pollUntil(
      {
        what: 'peer link',
        controller,
        probe: async () => {
          n++;
          if (n > 1) throw new Error('socket hang up');
          return { connected: false };
        },
        done: (s) => s.connected,
        describe: (s) => (s.connected ? 'connected' : 'disconnected'),
      },
      { intervalMs: 5, timeoutMs: 60 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3WaitTimeoutError);
    expect((err as Vns3WaitTimeoutError).lastError).toBe('Error: socket hang up');
    expect((err as Error).message).toContain('last error: Error: socket hang up');
  });

  it('aborts a hanging probe at the deadline, even one that ignores its signal', async () => {
    let probeSignal: AbortSignal | undefined;
    const err = await pollUntil(
      {
        what: 'hang',
        controller,
        probe: (signal) => {
          probeSignal = signal;
          return new Promise<never>(() => undefined);
        },
        done: () => true,
      },
      { timeoutMs: 30 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Vns3WaitTimeoutError);
    expect((err as Error).message).toContain('no probe completed');
    expect(probeSignal?.aborted).toBe(true);
  });

  it('never sleeps past the deadline', async () => {
    let n = 0;
    const guard = new AbortController();
    const outcome = await Promise.race([
      pollUntil({ what: 'slow', controller, probe: async () => ++n, done: () => false }, { intervalMs: 600_000, maxIntervalMs: 600_000, timeoutMs: 40 }).catch(
        (e: unknown) => e,
      ),
      sleep(3_000, guard.signal).then(() => 'still sleeping', () => 'guard cancelled'),
    ]);
    guard.abort();
    expect(outcome).toBeInstanceOf(Vns3WaitTimeoutError);
    expect(n).toBe(1);
  });

  it('rethrows the caller abort reason, during a sleep and during a probe', async () => {
    const reason = new Error('user cancelled');
    const ac = new AbortController();
    let n = 0;
    const p = pollUntil(
      { what: 'x', controller, probe: async () => { if (++n === 2) ac.abort(reason); return n; }, done: () => false },
      { intervalMs: 1, timeoutMs: 10_000, signal: ac.signal },
    );
    await expect(p).rejects.toBe(reason);

    const ac2 = new AbortController();
    const p2 = pollUntil(
      { what: 'x', controller, probe: () => new Promise<never>(() => undefined), done: () => true },
      { timeoutMs: 10_000, signal: ac2.signal },
    );
    setTimeout(() => ac2.abort(reason), 5);
    await expect(p2).rejects.toBe(reason);

    await expect(
      pollUntil({ what: 'x', controller, probe: async () => 1, done: () => true }, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  it('backs off by the factor with small jitter, capped', async () => {
    const events: Vns3Event[] = [];
    let n = 0;
    await pollUntil(
      { what: 'x', controller, probe: async () => ++n, done: (s) => s >= 7 },
      { intervalMs: 2, factor: 2, maxIntervalMs: 16, timeoutMs: 10_000, onEvent: (e) => events.push(e) },
    );
    const delays = events.filter((e) => typeof e.data?.['delayMs'] === 'number').map((e) => e.data!['delayMs'] as number);
    const expected = [2, 4, 8, 16, 16, 16];
    expect(delays).toHaveLength(expected.length);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(expected[i]! * 0.9);
      expect(d).toBeLessThanOrEqual(expected[i]! * 1.1);
    });
    expect(events.at(-1)).toMatchObject({ controller, step: 'wait', detail: 'x: done', data: { attempts: 7 } });
  });

  it('rejects nonsensical options with a Vns3ValidationError naming the field', async () => {
    const spec = { what: 'x', controller, probe: async () => 1, done: () => true };
    await expect(pollUntil(spec, { factor: 0.5 })).rejects.toThrow(Vns3ValidationError);
    await expect(pollUntil(spec, { factor: 0.5 })).rejects.toThrow(/factor/);
    await expect(pollUntil(spec, { intervalMs: -1 })).rejects.toThrow(/intervalMs/);
    await expect(pollUntil(spec, { timeoutMs: Number.NaN })).rejects.toThrow(/Invalid timeoutMs/);
  });

  it('refuses a timeout over 2^31-1 ms (a timer would fire at once) and waits with Infinity until the signal', async () => {
    await expect(pollUntil({ what: 'x', controller, probe: async () => 1, done: () => false }, { timeoutMs: 2 ** 31 + 10 })).rejects.toThrow(/Invalid timeoutMs/);
    const ac = new AbortController();
    let n = 0;
    const p = pollUntil({ what: 'x', controller, probe: async () => ++n, done: () => false }, { timeoutMs: Infinity, intervalMs: 5, signal: ac.signal });
    await sleep(50);
    ac.abort(new Error('enough'));
    await expect(p).rejects.toThrow('enough');
    expect(n).toBeGreaterThan(1);
  });
});
