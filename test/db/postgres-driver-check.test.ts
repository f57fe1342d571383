import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPostgresDriverPatched, postgresDriverProblem } from '../../src/db/postgres-driver-check.ts';

/**
 * The start-up check that refuses an unpatched postgres.js (src/db/postgres-driver-check.ts),
 * on its own and as the built service and CLI meet it, and the patch file itself: the driver
 * installed here must be the release with patches/postgres+3.4.9.patch applied, which the
 * patch, reversed, shows.
 */

const projectRoot = path.join(import.meta.dirname, '..', '..');
const patchFile = path.join(projectRoot, 'patches', 'postgres+3.4.9.patch');
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

/**
 * An installation of the build (dist/, made by the tests' global setup) whose postgres.js is the
 * release without the patch, as `npm ci --ignore-scripts` leaves it; every other package is the
 * project's own, linked.
 */
function installationWithUnpatchedDriver(): string {
  const copy = copyOfInstalled();
  applyPatch(copy.root, '--reverse');
  for (const entry of fs.readdirSync(path.join(projectRoot, 'node_modules'))) {
    if (entry !== 'postgres') fs.symlinkSync(path.join(projectRoot, 'node_modules', entry), path.join(copy.root, 'node_modules', entry));
  }
  fs.copyFileSync(path.join(projectRoot, 'package.json'), path.join(copy.root, 'package.json'));
  fs.cpSync(path.join(projectRoot, 'dist'), path.join(copy.root, 'dist'), { recursive: true });
  fs.cpSync(path.join(projectRoot, 'test', 'helpers', 'built-cli.mjs'), path.join(copy.root, 'test', 'helpers', 'built-cli.mjs'));
  return copy.root;
}

function runBuiltCli(root: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  // The check comes before any connection: nothing listens at this address.
  const env = { PATH: process.env.PATH, DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none', SWITCHBOARD_SECRET: randomBytes(32).toString('base64url'), PORT: '0' };
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'test', 'helpers', 'built-cli.mjs'), ...args], { env, timeout: 60_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
    );
  });
}

describe('an installation without the patch (npm ci --ignore-scripts)', () => {
  it.each([['migrate'], ['serve']])('switchboard %s refuses to open PostgreSQL, saying how to fix it', async (command) => {
    const root = installationWithUnpatchedDriver();
    const { code, stderr } = await runBuiltCli(root, [command]);
    expect(code).toBe(1);
    expect(stderr).toContain("switchboard: postgres.js 3.4.9 is installed without Switchboard's fixes (patches/postgres+3.4.9.patch;");
    expect(stderr).toContain('run `npx patch-package` in the installation, or reinstall without --ignore-scripts');
  });
});
