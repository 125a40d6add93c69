import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test talks to loopback servers; give slow CI machines room, but
    // tests bound their own waits far below this.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
