#!/usr/bin/env node
// In a checkout with the dev dependencies, the TypeScript sources run directly (through tsx): no
// build step between an edit and the command. Without them (an install with --omit=dev) the build
// in dist/ runs, which `npm run build` or `npm start` makes while they are installed.
import fs from 'node:fs';

/** tsx's loader, or undefined when tsx (a dev dependency) is not installed. */
async function typeScriptLoader() {
  try {
    return await import('tsx/esm/api');
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes("'tsx'")) return undefined;
    throw error;
  }
}

const built = new URL('../dist/src/cli/index.js', import.meta.url);
const loader = await typeScriptLoader();
let cli;
let envFile;
if (loader) {
  loader.register();
  envFile = await import('../src/env-file.ts');
  cli = await import('../src/cli/index.ts');
} else if (fs.existsSync(built)) {
  envFile = await import(new URL('../dist/src/env-file.js', import.meta.url).href);
  cli = await import(built.href);
} else {
  process.stderr.write('switchboard: dist/ holds no build, and tsx (a dev dependency) is not installed to run the sources: run `npm run build` with the dev dependencies installed (npm ci), then this again\n');
  process.exit(1);
}
// A `.env` in the working directory (or ENV_FILE) fills in what the environment leaves unset.
envFile.applyEnvFileOrExit();
process.exitCode = await cli.runCli(process.argv.slice(2));
