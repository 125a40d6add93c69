import { afterEach } from 'vitest';
import type { HaAgent } from '../../src/ha/index.js';
import type { HaBed } from '../../src/testing/index.js';

/**
 * Stops, after each test, every agent and test bed the test registered: agents first, so that no
 * check runs against a bed that is going away.
 */
export function stopAfterEach(): { bed(bed: HaBed): HaBed; agents(...agents: HaAgent[]): void } {
  const agents: HaAgent[] = [];
  const beds: HaBed[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await Promise.all(beds.splice(0).map((b) => b.stop()));
  });
  return {
    bed(bed) {
      beds.push(bed);
      return bed;
    },
    agents(...started) {
      agents.push(...started);
    },
  };
}
