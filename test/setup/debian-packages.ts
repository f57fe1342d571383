import { spawnSync } from 'node:child_process';

/**
 * Installs Debian packages some tests need (Chromium, Perl's OpenAPI::Client). Machines start
 * without them and no test tool may download its own, so the project installs them itself with
 * apt-get: from a vitest globalSetup (a no-op when they are there) and up front from `.ci/run`
 * so that CI's test time does not include it.
 */

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

/** True when dpkg has the package fully installed (not merely known or half-configured). */
export function debianPackageInstalled(name: string): boolean {
  const status = run('dpkg-query', ['-W', '-f=${Status}', name]);
  return status.ok && status.output.trim() === 'install ok installed';
}

/** True when apt knows a version of every package to install (no lists yet: none). */
function aptHasCandidates(names: string[]): boolean {
  const policy = run('apt-cache', ['policy', ...names]);
  const candidates = policy.output.match(/Candidate:\s+(?!\(none\))\S+/g) ?? [];
  return policy.ok && candidates.length === names.length;
}

function install(names: string[]): Run {
  // Another apt or dpkg run (an agent, unattended-upgrades) may hold the lock for a while: wait for it.
  return run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', ...names]);
}

/**
 * Installs the packages dpkg does not have yet; throws with apt's own output when that fails.
 * `label` prefixes the progress lines (`[chromium] …`).
 */
export function ensureDebianPackages(names: string[], label = names.join(',')): void {
  const missing = names.filter((name) => !debianPackageInstalled(name));
  if (missing.length === 0) return;
  const started = Date.now();
  console.log(`[${label}] installing Debian package(s) ${missing.join(', ')}`);
  const failures: string[] = [];
  let updated = false;
  const update = () => {
    updated = true;
    const result = run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update']);
    if (!result.ok) failures.push(`apt-get update failed:\n${tail(result.output)}`);
  };
  if (!aptHasCandidates(missing)) update();
  let result = install(missing);
  // Stale package lists name files the mirror no longer has: refresh once and retry.
  if (!result.ok && !updated) {
    failures.push(`apt-get install failed before an update:\n${tail(result.output)}`);
    update();
    result = install(missing);
  }
  const stillMissing = missing.filter((name) => !debianPackageInstalled(name));
  if (!result.ok || stillMissing.length > 0) {
    failures.push(`apt-get install -y --no-install-recommends ${missing.join(' ')} failed:\n${tail(result.output)}`);
    throw new Error(
      `Could not install ${stillMissing.join(', ') || missing.join(', ')} for the tests (needs root and access to Debian's package mirrors).\n${failures.join('\n\n')}`,
    );
  }
  console.log(`[${label}] installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
