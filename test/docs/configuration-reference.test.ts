import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/processes.ts';

/**
 * docs/configuration.md lists every variable the service and the CLI read. The schemas in
 * src/config.ts and src/telemetry-config.ts are where they are read (nowhere else reads
 * process.env), one `NAME: …` key per variable.
 */
const read = (file: string) => fs.readFileSync(path.join(projectRoot, file), 'utf8');
const variablesIn = (source: string) => [...source.matchAll(/^\s+([A-Z][A-Z0-9_]+): /gm)].map(([, name]) => name!);

describe('docs/configuration.md', () => {
  const documented = new Set([...read('docs/configuration.md').matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map(([, name]) => name!));
  const variables = [...variablesIn(read('src/config.ts')), ...variablesIn(read('src/telemetry-config.ts'))];

  it('finds the variables where config reads them', () => {
    expect(variables).toEqual(expect.arrayContaining(['DATABASE_URL', 'SWITCHBOARD_SECRET', 'SWITCHBOARD_URL', 'METRICS_PORT']));
  });

  it.each(variables)('documents %s', (name) => {
    expect(documented).toContain(name);
  });
});
