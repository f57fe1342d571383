import fs from 'node:fs';
import path from 'node:path';
import { transform } from 'esbuild';
import { projectRoot } from './processes.ts';

/**
 * The fixture servers the tests start in child processes (test/fixtures), compiled to plain
 * JavaScript once per test run by the global setup: `node --import tsx` compiled each again in
 * every child, about 0.4 s of CPU per start, and the suite starts well over a hundred.
 */
const COMPILED = path.join(projectRoot, 'node_modules', '.cache', 'switchboard-test-fixtures');

const FIXTURES = [
  'test/fixtures/upstream-server.ts',
  'test/fixtures/session-upstream.ts',
  'test/fixtures/modern-features-upstream.ts',
  'test/fixtures/oauth/authorization-server.ts',
  'test/fixtures/oauth/protected-mcp-server.ts',
];

/** Compiles every fixture (each stands alone: it imports only packages). */
export async function compileTestFixtures(): Promise<void> {
  fs.mkdirSync(COMPILED, { recursive: true });
  await Promise.all(
    FIXTURES.map(async (fixture) => {
      const source = fs.readFileSync(path.join(projectRoot, fixture), 'utf8');
      const { code } = await transform(source, { loader: 'ts', format: 'esm', platform: 'node', target: 'node20', sourcefile: fixture });
      fs.writeFileSync(compiledPathOf(fixture), code);
    }),
  );
}

/** The node arguments that run a fixture: its compiled form when the global setup made it, else the source through tsx. */
export function fixtureArgs(fixture: string): string[] {
  const relative = path.relative(projectRoot, fixture);
  const compiled = compiledPathOf(relative);
  if (FIXTURES.includes(relative) && fs.existsSync(compiled)) return [compiled];
  return ['--import', 'tsx', path.join(projectRoot, relative)];
}

function compiledPathOf(fixture: string): string {
  return path.join(COMPILED, `${fixture.replaceAll('/', '__').replace(/\.ts$/, '')}.mjs`);
}
