/**
 * Which test file runs in which tier (vitest projects, see vitest.config.ts). A file not listed
 * here is `integration`: servers on loopback, built once per run.
 */

/**
 * Pure functions and in-process calls over an in-memory PGlite: no build, no server, no child
 * process; the whole tier takes seconds. `npm run test:unit` is the quick loop.
 */
export const unitTier = [
  'test/architecture/**/*.test.ts',
  'test/config.test.ts',
  'test/cli/client-config.test.ts',
  'test/cli/connection-display.test.ts',
  'test/cli/help.test.ts',
  'test/core/bounded-cache.test.ts',
  'test/core/client-session-eviction.test.ts',
  'test/core/client-session-records.test.ts',
  'test/core/client-sessions.test.ts',
  'test/core/config-drift.test.ts',
  'test/core/failed-auth-limiter.test.ts',
  'test/core/keyring.test.ts',
  'test/core/logger.test.ts',
  'test/core/namespace-names.test.ts',
  'test/core/outbound-url.test.ts',
  'test/core/page-cursor.test.ts',
  'test/core/setup-form.test.ts',
  'test/core/setup-needed.test.ts',
  'test/core/token-format.test.ts',
  'test/core/token-policy.property.test.ts',
  'test/core/tool-list-cache.test.ts',
  'test/core/toolbox-names.test.ts',
  'test/core/unknown-tool.test.ts',
  'test/core/upstream-pool-identity.test.ts',
  'test/db/database-address.test.ts',
  'test/db/keyset-page.test.ts',
  'test/docs/configuration-reference.test.ts',
  'test/docs/front-page.test.ts',
  'test/docs/relative-links.test.ts',
  'test/db/lost-transaction.test.ts',
  'test/mcp/json-rpc-messages.test.ts',
  'test/telemetry/telemetry-config.test.ts',
];

/**
 * Minutes of processes and timers: the service as `npm start` runs it (start-up, shutdown,
 * replicas, the soak), faults (a database restarted or cut, upstreams misbehaving), pages in a
 * real browser, the MCP conformance suite, and clients in other languages.
 */
export const slowTier = [
  'test/processes/**/*.test.ts',
  'test/faults/**/*.test.ts',
  'test/webhooks/webhook-database-outage.test.ts',
  'test/browser/**/*.test.ts',
  'test/conformance/**/*.test.ts',
  'test/clients/perl-client.test.ts',
  'test/clients/trpc-example.test.ts',
];

/**
 * Files whose subject does not depend on the database: pages in a browser, clients' compatibility
 * with the API, the CLI over HTTP, fuzzing of input at the edge. They run on PGlite; the
 * PostgreSQL pass (TEST_DATABASE_URL set, CI's second run) leaves them out, as the same code
 * paths over the database are covered there by the API, core and process tests.
 */
export const databaseIndependent = [
  'test/browser/**',
  'test/clients/**',
  'test/api/official-client*.test.ts',
  'test/api/fuzz.test.ts',
  'test/cli/http-commands.test.ts',
  'test/cli/webhook-commands.test.ts',
  'test/docs/**',
];
