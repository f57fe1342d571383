import { defineConfig } from 'vitest/config';
import { LongRunnersFirst } from './test/setup/sequencer.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ for the tests that run the service as a process; installs Debian's Chromium
    // for test/browser and Perl's OpenAPI::Client for test/clients when the machine lacks them.
    globalSetup: ['test/setup/build.ts', 'test/setup/chromium.ts', 'test/setup/perl-openapi-client.ts'],
    pool: 'forks',
    // Two files at a time on CI's two cores: most tests wait on child processes, sockets and the
    // database rather than compute (vitest's default would be one).
    maxWorkers: 2,
    // PGlite's initdb and child-process servers take seconds on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    sequence: { sequencer: LongRunnersFirst },
  },
});
