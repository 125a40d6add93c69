/**
 * A concurrency limit for fan-outs over a mesh (at most `n` requests to controllers in flight).
 * Our own few lines instead of p-limit: p-limit is ESM-only, and the package must load with
 * `require()` on Node 20.18, where `require()` of an ES module is still behind a flag.
 */

/** Runs a task once fewer than the limit's number of tasks are running; resolves with its result. */
export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

/** Makes a limiter that lets at most `concurrency` tasks run at once, the others start in call order. */
export function limitConcurrency(concurrency: number): Limit {
  let running = 0;
  const queue: (() => void)[] = [];
  const next = (): void => {
    running--;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        running++;
        // A task that throws synchronously rejects like one that returns a rejected promise.
        Promise.resolve()
          .then(task)
          .then(resolve, reject)
          .finally(next);
      };
      if (running < concurrency) start();
      else queue.push(start);
    });
}
