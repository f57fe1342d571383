import fs from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath, renderOpenApi } from '../scripts/generate-openapi.ts';
import { clientTypesPath, renderClientTypes } from '../scripts/lib/client-types.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

describe('openapi.json', () => {
  it('is committed exactly as `npm run openapi` generates it (run it after changing a route)', () => {
    expect(fs.readFileSync(openApiPath, 'utf8')).toBe(renderOpenApi({}));
  });

  it('has its openapi-fetch types committed as `npm run openapi` generates them', async () => {
    expect(fs.readFileSync(clientTypesPath, 'utf8')).toBe(await renderClientTypes(renderOpenApi({})));
  });

  it('is a valid OpenAPI document', async () => {
    const document = JSON.parse(fs.readFileSync(openApiPath, 'utf8'));
    await expect(SwaggerParser.validate(document)).resolves.toBeTruthy();
  });

  it('gives every operation a summary, bearer security unless public, and {error,message} errors', () => {
    const document = JSON.parse(fs.readFileSync(openApiPath, 'utf8'));
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(operation.summary, `${method} ${path}`).toBeTruthy();
        if (path !== '/health') expect(operation.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
        for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
          if (Number(status) >= 400) {
            expect(response.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
          }
        }
      }
    }
    expect(document.paths['/namespaces'].post.responses['201']).toBeDefined();
    expect(document.paths['/namespaces/{name}'].put.responses['201']).toBeDefined();
  });
});

describe('GET /openapi.json', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ PUBLIC_URL: 'https://switchboard.example.com/' });
  });
  afterAll(() => server?.close());

  it('serves the document with servers from PUBLIC_URL, without a credential', async () => {
    const response = await server.request('/openapi.json');
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.servers).toEqual([{ url: 'https://switchboard.example.com' }]);
    expect(document.paths).toEqual(JSON.parse(fs.readFileSync(openApiPath, 'utf8')).paths);
  });
});
