import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/processes.ts';

/** README.md is the front page: what Switchboard is, the five-minute path and links. The rest lives in docs/. */
describe('README.md', () => {
  it('stays within 12 KB', () => {
    expect(fs.statSync(path.join(projectRoot, 'README.md')).size).toBeLessThanOrEqual(12 * 1024);
  });
});
