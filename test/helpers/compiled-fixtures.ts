import fs from 'node:fs';
import path from 'node:path';
import { transform, transformSync } from 'esbuild';
import { projectRoot } from './processes.ts';

/**
 * The fixture servers the tests start in child processes (test/fixtures), compiled to plain
 * JavaScript once per test run by the global setup: `node --import tsx` compiled each again in
 * every child, about 0.4 s of CPU per start, and the suite starts well over a hundred. Kept in
 * this checkout's dist/ (packages resolve from there as from the sources), so two checkouts
 * sharing one node_modules do not run each other's fixtures.
 */
const COMPILED = path.join(projectRoot, 'dist', 'test-fixtures');

const FIXTURES = [
  'test/fixtures/upstream-server.ts',
  'test/fixtures/session-upstream.ts',
  'test/fixtures/modern-features-upstream.ts',
  'test/fixtures/oauth/authorization-server.ts',
  'test/fixtures/oauth/protected-mcp-server.ts',
];

const ESBUILD_OPTIONS = { loader: 'ts', format: 'esm', platform: 'node', target: 'node20' } as const;

/** Compiles every fixture (each stands alone: it imports only packages). */
export async function compileTestFixtures(): Promise<void> {
  fs.mkdirSync(COMPILED, { recursive: true });
  await Promise.all(
    FIXTURES.map(async (fixture) => {
      const source = fs.readFileSync(path.join(projectRoot, fixture), 'utf8');
      const { code } = await transform(source, { ...ESBUILD_OPTIONS, sourcefile: fixture });
      fs.writeFileSync(compiledPathOf(fixture), code);
    }),
  );
}

/**
 * The node arguments that run a fixture: its compiled form, made here if the global setup did
 * not (a fixture outside the list, or a run without the setup), so no child compiles TypeScript.
 */
export function fixtureArgs(fixture: string): string[] {
  const relative = path.relative(projectRoot, fixture);
  const compiled = compiledPathOf(relative);
  if (!FIXTURES.includes(relative) || !fs.existsSync(compiled)) {
    const { code } = transformSync(fs.readFileSync(fixture, 'utf8'), { ...ESBUILD_OPTIONS, sourcefile: relative });
    fs.mkdirSync(COMPILED, { recursive: true });
    // Written whole under another name, then renamed: a process starting it meanwhile never reads half.
    const partial = `${compiled}.${process.pid}`;
    fs.writeFileSync(partial, code);
    fs.renameSync(partial, compiled);
  }
  return [compiled];
}

function compiledPathOf(fixture: string): string {
  return path.join(COMPILED, `${fixture.replaceAll('/', '__').replace(/\.ts$/, '')}.mjs`);
}
