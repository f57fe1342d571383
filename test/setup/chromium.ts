import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ensureDebianPackages } from './debian-packages.ts';

/**
 * Debian's Chromium for the browser tests. Machines start without it and no test tool may
 * download a browser of its own, so the project installs the Debian package itself
 * (debian-packages.ts): here as a vitest globalSetup (a no-op when it is there), and up front
 * from `.ci/run` (`node --import tsx test/setup/chromium.ts`) so that CI's test time does not
 * include it.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags known to work headless as root on these machines; without the background-networking
 * ones Chromium keeps dialling Google's hosts, which the closed network refuses.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM_PATH)) return;
  console.log(`[chromium] ${CHROMIUM_PATH} is missing`);
  ensureDebianPackages(['chromium'], 'chromium');
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`Debian's chromium package is installed but ${CHROMIUM_PATH} is missing (reinstall it: apt-get install --reinstall chromium)`);
  }
}

/** vitest globalSetup. */
export default function setup(): void {
  ensureChromium();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) ensureChromium();
