import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Switchboard runs postgres.js only with the fixes in patches/postgres+3.4.9.patch (see
 * patches/README.md): unfixed, a PostgreSQL restart can hang requests for good or end the
 * process. patch-package applies them after `npm ci`, but nothing applies them after
 * `npm ci --ignore-scripts` or an install that skipped the postinstall script, so the service
 * looks before it opens a PostgreSQL database, and refuses rather than run without them.
 */
export const PATCHED_POSTGRES_VERSION = '3.4.9';
const patchFile = `patches/postgres+${PATCHED_POSTGRES_VERSION}.patch`;
/** A comment the patch adds to every file it changes, and nothing else contains. */
const patchMarker = `// switchboard patch (${patchFile}):`;
/** The files `import 'postgres'` loads that the patch changes, relative to the entry's folder. */
const patchedFiles = ['index.js', 'connection.js'];

export class UnpatchedPostgresDriverError extends Error {
  override name = 'UnpatchedPostgresDriverError';
}

/**
 * What is wrong with the postgres.js whose ESM entry is `entryFile` (its `src/index.js`), or
 * undefined when it is the patched release. Reads the package's manifest and two files.
 */
export function postgresDriverProblem(entryFile: string): string | undefined {
  const packageDir = packageDirOf(entryFile);
  const version = manifestOf(packageDir)?.version ?? 'of no known version';
  if (version !== PATCHED_POSTGRES_VERSION) {
    return (
      `postgres.js ${version} is installed (${packageDir}), but Switchboard's fixes for it (${patchFile}) are written for ${PATCHED_POSTGRES_VERSION}: ` +
      `install the pinned version (npm ci), or, moving to another release, check which of the fixes it has and update the patch (patches/README.md)`
    );
  }
  const unpatched = patchedFiles.filter((file) => !readIfPresent(path.join(path.dirname(entryFile), file)).includes(patchMarker));
  if (unpatched.length === 0) return undefined;
  return (
    `postgres.js ${version} is installed without Switchboard's fixes (${patchFile}; ${unpatched.join(' and ')} in ${path.dirname(entryFile)} lack them): ` +
    `run \`npx patch-package\` in the installation, or reinstall without --ignore-scripts (npm ci applies them)`
  );
}

/** The nearest folder above `file` whose package.json names postgres. */
function packageDirOf(file: string): string {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (manifestOf(dir)?.name === 'postgres') return dir;
  }
  throw new UnpatchedPostgresDriverError(`no postgres package.json above ${file}: reinstall (npm ci)`);
}

/** A folder's package.json, or undefined when it has none or none that parses (a damaged install reads as unpatched, not as a crash). */
function manifestOf(dir: string): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  } catch {
    return undefined;
  }
}

function readIfPresent(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

let checked = false;

/** Throws UnpatchedPostgresDriverError unless the postgres.js this process imports is the patched release; looks once. */
export function assertPostgresDriverPatched(): void {
  if (checked) return;
  // The file `import 'postgres'` loads from here, the same resolution src/db/open.ts gets.
  const problem = postgresDriverProblem(fileURLToPath(import.meta.resolve('postgres')));
  if (problem) throw new UnpatchedPostgresDriverError(problem);
  checked = true;
}
