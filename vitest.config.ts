import { defineConfig } from 'vitest/config';

// The integration and end-to-end suites run twice: against the embedded server, and through the engine's
// /mcp over Streamable HTTP (spawned `serve` as a face on a background engine); see TEST_MODE in test/helpers.ts.
const THROUGH_THE_ENGINE = ['test/mcp-*.test.ts', 'test/guardrails.test.ts', 'test/campaigns.test.ts', 'test/*e2e*.test.ts', 'test/restart.test.ts', 'test/campaign-crash.test.ts', 'test/input-limits.test.ts', 'test/disk-full.test.ts', 'test/cli-startup.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'embedded', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'engine', include: THROUGH_THE_ENGINE, env: { SWITCHBOARD_TEST_MODE: 'engine' } } },
    ],
  },
});
