import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPostgresDriverPatched, postgresDriverProblem } from '../../src/db/postgres-driver-check.ts';

/**
 * The start-up check that refuses an unpatched postgres.js (src/db/postgres-driver-check.ts),
 * and the patch file itself: the driver installed here must be the release with
 * patches/postgres+3.4.9.patch applied, which the patch, reversed, shows.
 */

const patchFile = path.join(import.meta.dirname, '..', '..', 'patches', 'postgres+3.4.9.patch');
const installedEntry = fileURLToPath(import.meta.resolve('postgres'));
const installedPackage = path.dirname(path.dirname(installedEntry));

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A copy of the installed driver at <root>/node_modules/postgres, the layout the patch file names. */
function copyOfInstalled(): { root: string; entry: string; manifest: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-driver-'));
  made.push(root);
  const packageDir = path.join(root, 'node_modules', 'postgres');
  fs.cpSync(installedPackage, packageDir, { recursive: true });
  return { root, entry: path.join(packageDir, path.relative(installedPackage, installedEntry)), manifest: path.join(packageDir, 'package.json') };
}

/** `git apply` outside any repository works on the files under `root`, as patch(1) would. */
function applyPatch(root: string, ...flags: string[]): void {
  execFileSync('git', ['apply', ...flags, patchFile], { cwd: root, stdio: 'pipe' });
}

describe('the postgres.js driver check', () => {
  it('passes the driver this process imports: the release with patches/postgres+3.4.9.patch applied', () => {
    expect(postgresDriverProblem(installedEntry)).toBeUndefined();
    expect(() => assertPostgresDriverPatched()).not.toThrow();
    // The patch, reversed, applies cleanly to what is installed: the installed files are the patch's.
    const copy = copyOfInstalled();
    applyPatch(copy.root, '--reverse', '--check');
  });

  it('refuses the release without the patch, saying which patch and how to apply it', () => {
    const copy = copyOfInstalled();
    applyPatch(copy.root, '--reverse');
    expect(postgresDriverProblem(copy.entry)).toMatch(
      /^postgres\.js 3\.4\.9 is installed without Switchboard's fixes \(patches\/postgres\+3\.4\.9\.patch; index\.js and connection\.js in .* lack them\): run `npx patch-package`.*--ignore-scripts/,
    );
    // And the patch applied again is enough.
    applyPatch(copy.root);
    expect(postgresDriverProblem(copy.entry)).toBeUndefined();
  });

  it('refuses a release the patch was not written for, with its own message', () => {
    const copy = copyOfInstalled();
    fs.writeFileSync(copy.manifest, fs.readFileSync(copy.manifest, 'utf8').replace('"version": "3.4.9"', '"version": "3.4.10"'));
    expect(postgresDriverProblem(copy.entry)).toMatch(/^postgres\.js 3\.4\.10 is installed .*are written for 3\.4\.9: install the pinned version/);
  });
});
