import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '../src/api/openapi.ts';
import { appRouter } from '../src/api/router.ts';
import { loadConfig } from '../src/config.ts';
import { SWITCHBOARD_VERSION } from '../src/version.ts';
import { clientTypesPath, renderClientTypes } from './lib/client-types.ts';

/**
 * `npm run openapi`: writes openapi.json, with servers from PUBLIC_URL (default http://127.0.0.1:8080),
 * and the openapi-fetch types generated from it (scripts/lib/client-types.ts).
 * `npm run openapi -- --check` writes nothing and exits 1 when either committed file differs
 * from what it would write (the openapi test runs it, so a route changed without regenerating fails).
 */
export function renderOpenApi(env: NodeJS.ProcessEnv): string {
  const { publicUrl } = loadConfig({ PUBLIC_URL: env.PUBLIC_URL, HOST: env.HOST, PORT: env.PORT });
  return `${JSON.stringify(buildOpenApiDocument(appRouter, { publicUrl, version: SWITCHBOARD_VERSION }), null, 2)}\n`;
}

export const openApiPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'openapi.json');

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const document = renderOpenApi(process.env);
  if (process.argv.includes('--check')) {
    const clientTypes = await renderClientTypes(document);
    const stale = [
      [openApiPath, document],
      [clientTypesPath, clientTypes],
    ].filter(([file, expected]) => !fs.existsSync(file!) || fs.readFileSync(file!, 'utf8') !== expected);
    for (const [file] of stale) process.stderr.write(`${path.relative(process.cwd(), file!)} differs from what \`npm run openapi\` generates; run it and commit the result\n`);
    process.exit(stale.length === 0 ? 0 : 1);
  }
  fs.writeFileSync(openApiPath, document);
  process.stdout.write(`wrote ${openApiPath}\n`);
  fs.mkdirSync(path.dirname(clientTypesPath), { recursive: true });
  fs.writeFileSync(clientTypesPath, await renderClientTypes(document));
  process.stdout.write(`wrote ${clientTypesPath}\n`);
}
