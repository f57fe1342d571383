import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs Debian's Chromium for test/browser when the machine lacks it.
    globalSetup: ['test/setup/chromium.ts'],
    pool: 'forks',
    // PGlite's initdb and child-process servers take seconds on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
