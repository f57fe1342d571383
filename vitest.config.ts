import { configDefaults, defineConfig } from 'vitest/config';
import { LongRunnersFirst } from './test/setup/sequencer.ts';

/**
 * Files whose subject does not depend on the database: pages in a browser, clients' compatibility
 * with the API, the CLI over HTTP, fuzzing of input at the edge. They run on PGlite; the
 * PostgreSQL pass (TEST_DATABASE_URL set, CI's second run) leaves them out, as the same code
 * paths over the database are covered there by the API, core and process tests.
 */
const databaseIndependent = [
  'test/browser/**',
  'test/clients/**',
  'test/api/official-client*.test.ts',
  'test/api/fuzz.test.ts',
  'test/cli/http-commands.test.ts',
  'test/cli/webhook-commands.test.ts',
];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(process.env.TEST_DATABASE_URL ? databaseIndependent : [])],
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
