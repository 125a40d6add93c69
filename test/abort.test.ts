import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadline, MAX_TIMER_MS, abortReason, combineSignals, isAbortError, jitter, raceAbort, sleep, startTimer, throwIfAborted } from '../src/abort.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('startTimer / sleep', () => {
  it('waits the whole of a delay longer than one Node timer can hold', () => {
    vi.useFakeTimers();
    const fire = vi.fn();
    startTimer(MAX_TIMER_MS + 1_000, fire);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(999);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('never fires for Infinity, and a cancelled timer never fires', () => {
    vi.useFakeTimers();
    const never = vi.fn();
    const cancelled = vi.fn();
    startTimer(Infinity, never);
    const cancel = startTimer(10, cancelled);
    cancel();
    vi.advanceTimersByTime(MAX_TIMER_MS * 3);
    expect(never).not.toHaveBeenCalled();
    expect(cancelled).not.toHaveBeenCalled();
  });

  it('sleep rejects with the signal reason as soon as it aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('stop now');
    const slept = sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
  });

  it('sleep on an aborted signal rejects without waiting, with a standard AbortError when no reason was given', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await sleep(60_000, controller.signal).catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
  });
});

describe('Deadline', () => {
  it('says the time ran out, with a TimeoutError reason', () => {
    vi.useFakeTimers();
    const deadline = new Deadline(1_000);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1_000);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.timedOut).toBe(true);
    expect(deadline.callerAborted).toBe(false);
    expect((deadline.signal.reason as Error).name).toBe('TimeoutError');
    deadline.dispose();
  });

  it('says the caller aborted, with the caller reason, and stops listening once disposed', () => {
    const caller = new AbortController();
    const deadline = new Deadline(60_000, { signal: caller.signal });
    caller.abort(new Error('user stop'));
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.timedOut).toBe(false);
    expect(deadline.callerAborted).toBe(true);
    expect((deadline.signal.reason as Error).message).toBe('user stop');
    deadline.dispose();

    const later = new AbortController();
    const other = new Deadline(60_000, { signal: later.signal });
    other.dispose();
    later.abort();
    expect(other.signal.aborted).toBe(false);
  });

  it('counts down what remains and never goes below zero', () => {
    vi.useFakeTimers();
    const deadline = new Deadline(500);
    vi.advanceTimersByTime(200);
    expect(deadline.remainingMs()).toBe(300);
    vi.advanceTimersByTime(1_000);
    expect(deadline.remainingMs()).toBe(0);
    expect(new Deadline(Infinity).remainingMs()).toBe(Infinity);
    deadline.dispose();
  });
});

describe('raceAbort and the small helpers', () => {
  it('gives up on work that ignores its signal, and swallows its later rejection', async () => {
    const controller = new AbortController();
    let rejectLater: (e: Error) => void = () => undefined;
    const work = new Promise<never>((_, reject) => {
      rejectLater = reject;
    });
    const raced = raceAbort(work, controller.signal);
    controller.abort(new Error('deadline'));
    await expect(raced).rejects.toThrow('deadline');
    // Would fail the test run as an unhandled rejection if raceAbort had not swallowed it.
    rejectLater(new Error('too late'));
  });

  it('passes the result through when the work ends first', async () => {
    await expect(raceAbort(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(raceAbort(Promise.resolve(8), undefined)).resolves.toBe(8);
  });

  it('combineSignals uses AbortSignal.any only when both sources exist', () => {
    const a = new AbortController().signal;
    const b = new AbortController().signal;
    expect(combineSignals(undefined, b)).toBe(b);
    expect(combineSignals(a, undefined)).toBe(a);
    expect(combineSignals(a, a)).toBe(a);
    const both = new AbortController();
    const combined = combineSignals(both.signal, b);
    expect(combined).not.toBe(b);
    both.abort();
    expect(combined?.aborted).toBe(true);
  });

  it('throwIfAborted throws the reason only when aborted', () => {
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal)).not.toThrow();
    expect(() => throwIfAborted(undefined)).not.toThrow();
    controller.abort(new Error('gone'));
    expect(() => throwIfAborted(controller.signal)).toThrow('gone');
    expect((abortReason(controller.signal) as Error).message).toBe('gone');
  });
});

describe('jitter', () => {
  it('stays within the spread on either side and actually spreads', () => {
    const samples = Array.from({ length: 500 }, () => jitter(1_000, 0.1));
    for (const ms of samples) {
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThanOrEqual(1_100);
    }
    expect(new Set(samples.map((ms) => Math.round(ms))).size).toBeGreaterThan(10);
    expect(jitter(0, 0.5)).toBe(0);
  });
});
