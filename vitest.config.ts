import { configDefaults, defineConfig } from 'vitest/config';
import { LongRunnersFirst } from './test/setup/sequencer.ts';
import { databaseIndependent, slowTier, unitTier } from './test/tiers.ts';

/**
 * Three tiers (test/tiers.ts says which file is in which): `unit` needs no build and starts no
 * server (seconds: `npm run test:unit`); `integration` starts servers on loopback; `slow` runs
 * processes for minutes, a browser, other languages' clients and faults. `npm test` runs all
 * three in one pool, two files at a time.
 */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const leftOut = [...configDefaults.exclude, ...(onPostgres ? databaseIndependent : [])];

// Builds dist/ and compiles the fixture upstreams for the tests that run processes.
const build = 'test/setup/build.ts';
// Installs Debian's Chromium for test/browser and Perl's OpenAPI::Client for test/clients when the machine lacks them.
const slowMachinery = ['test/setup/chromium.ts', 'test/setup/perl-openapi-client.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at a time on CI's two cores: most tests wait on child processes, sockets and the
    // database rather than compute (vitest's default would be one).
    maxWorkers: 2,
    // PGlite and child-process servers take seconds on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    sequence: { sequencer: LongRunnersFirst },
    projects: [
      { extends: true, test: { name: 'unit', include: unitTier, exclude: leftOut } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...leftOut, ...unitTier, ...slowTier],
          globalSetup: [build],
          // One process runs many files: each file in a fresh process spent most of its time
          // importing the service and its packages again (the API and security files ran in 262 s
          // isolated, 85 s not). Every file starts its own servers and databases and closes them.
          isolate: false,
        },
      },
      { extends: true, test: { name: 'slow', include: slowTier, exclude: leftOut, globalSetup: [build, ...slowMachinery] } },
    ],
  },
});
