import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Debian's Chromium for the browser tests. Machines start without it and no test tool may
 * download a browser of its own, so the project installs the Debian package itself: here as
 * a vitest globalSetup (a no-op when it is there), and up front from `.ci/run`
 * (`node --import tsx test/setup/chromium.ts`) so that CI's test time does not include it.
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

type Run = { ok: boolean; output: string };

function run(command: string, args: string[]): Run {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { ok: result.status === 0, output };
}

/** True when apt knows a version of chromium to install (no lists yet: none). */
function aptHasCandidate(): boolean {
  const policy = run('apt-cache', ['policy', 'chromium']);
  return policy.ok && /Candidate:\s+(?!\(none\))\S+/.test(policy.output);
}

function install(): Run {
  return run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
}

export function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM_PATH)) return;
  const started = Date.now();
  console.log(`[chromium] ${CHROMIUM_PATH} is missing; installing Debian's chromium package`);
  const failures: string[] = [];
  let updated = false;
  const update = () => {
    updated = true;
    const result = run('apt-get', ['update']);
    if (!result.ok) failures.push(`apt-get update failed:\n${tail(result.output)}`);
  };
  if (!aptHasCandidate()) update();
  let result = install();
  // Stale package lists name files the mirror no longer has: refresh once and retry.
  if (!result.ok && !updated) {
    failures.push(`apt-get install failed before an update:\n${tail(result.output)}`);
    update();
    result = install();
  }
  if (!result.ok || !fs.existsSync(CHROMIUM_PATH)) {
    failures.push(`apt-get install -y --no-install-recommends chromium failed:\n${tail(result.output)}`);
    throw new Error(
      `Could not install Chromium for the browser tests (needs root and access to Debian's package mirrors).\n${failures.join('\n\n')}`,
    );
  }
  console.log(`[chromium] installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** vitest globalSetup. */
export default function setup(): void {
  ensureChromium();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) ensureChromium();
