import fs from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { projectRoot, runCommand } from './helpers/processes.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const openApiPath = path.join(projectRoot, 'openapi.json');
const generate = (env: Record<string, string> = {}) =>
  runCommand(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'scripts', 'generate-openapi.ts'), '--check'], env);

describe('openapi.json', () => {
  it('is committed, with its openapi-fetch types, exactly as `npm run openapi` generates them (run it after changing a route)', async () => {
    const check = await generate();
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
  });

  it('is checked for real: a document generated for another public URL differs from the committed one', async () => {
    const check = await generate({ PUBLIC_URL: 'https://elsewhere.example.com' });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('openapi.json differs');
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
