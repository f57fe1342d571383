import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ensureDebianPackages } from './debian-packages.ts';

/**
 * Perl's OpenAPI::Client (Debian's libopenapi-client-perl, with JSON::Validator and
 * Mojolicious) for test/clients/perl-client.test.ts, which drives our API from
 * clients/perl/switchboard-example.pl. Installed like Chromium: as a vitest globalSetup (a
 * no-op when it is there), and up front from `.ci/run`
 * (`node --import tsx test/setup/perl-openapi-client.ts`).
 */
export const PERL_OPENAPI_CLIENT_PACKAGE = 'libopenapi-client-perl';

export function ensurePerlOpenApiClient(): void {
  ensureDebianPackages([PERL_OPENAPI_CLIENT_PACKAGE], 'perl');
  // The package being installed is not the point: Perl must load the module.
  const loaded = spawnSync('perl', ['-MOpenAPI::Client', '-e', 'print $OpenAPI::Client::VERSION'], { encoding: 'utf8' });
  if (loaded.status !== 0) {
    throw new Error(`perl cannot load OpenAPI::Client after installing ${PERL_OPENAPI_CLIENT_PACKAGE}:\n${loaded.stderr}${loaded.error ?? ''}`);
  }
}

/** vitest globalSetup. */
export default function setup(): void {
  ensurePerlOpenApiClient();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) ensurePerlOpenApiClient();
