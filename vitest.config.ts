import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test talks to loopback servers; give slow CI machines room, but
    // tests bound their own waits far below this.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The AWS SDK (a dev dependency, for the EC2 provider's tests) warns on every load that it will
    // need Node 22; on Node 20 that is noise nobody running these tests can act on.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // The JSON report lets .ci/run print one "N passed, M failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
});
