import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { projectRoot } from '../../test/helpers/processes.ts';

/**
 * TypeScript types for openapi-fetch (`createClient<paths>()`), generated from openapi.json by
 * openapi-typescript. `npm run openapi` writes them with the document; test/openapi.test.ts
 * fails when the committed file drifts from either.
 */
export const clientTypesPath = path.join(projectRoot, 'clients', 'typescript', 'switchboard-api.d.ts');

const header = `/**
 * Switchboard's REST API as TypeScript types for openapi-fetch: \`createClient<paths>()\`.
 * Generated from openapi.json by openapi-typescript; do not edit. Regenerate with \`npm run openapi\`.
 */

`;

export async function renderClientTypes(openApiJson: string): Promise<string> {
  const ast = await openapiTS(JSON.parse(openApiJson), { silent: true });
  return header + astToString(ast);
}
