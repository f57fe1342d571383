import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, startServerProcess, type ServerProcess } from './processes.ts';

/**
 * Switchboard as `npm start` runs it (the build in dist/), in a child process whose memory can
 * be read from /proc and which a fault cannot take the test runner down with. An account and
 * its API key are made with the CLI before it starts (PGlite belongs to one process).
 */
export type SwitchboardProcess = {
  process: ServerProcess;
  url: string;
  key: string;
  request(pathname: string, init?: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response>;
  /** Resident memory in bytes now, and the peak since the last resetPeak(). */
  memory(): { rssBytes: number; peakBytes: number };
  /** Starts a new peak measurement (Linux: writes 5 to /proc/<pid>/clear_refs). */
  resetPeak(): void;
  close(): Promise<void>;
};

export async function startSwitchboardProcess(env: Record<string, string>): Promise<SwitchboardProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-faults-'));
  // Loopback upstreams are what these tests talk to.
  const fullEnv = { DATA_DIR: dataDir, ALLOWED_UPSTREAM_HOSTS: '127.0.0.1', ...env };
  // Processes may share one PostgreSQL database (replicas): each gets an account of its own.
  const created = await runCli(['api-keys', 'create', '--name', 'faults', '--new-account', '--json'], fullEnv);
  if (created.code !== 0) throw new Error(`api-keys create failed: ${created.stderr}`);
  const key = (JSON.parse(created.stdout) as { key: string }).key;
  const server = await startServerProcess(fullEnv);
  const pid = server.child.pid!;
  return {
    process: server,
    url: server.url,
    key,
    request(pathname, init = {}) {
      return fetch(`${server.url}${pathname}`, {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${key}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    },
    memory() {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
      return { rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
    },
    resetPeak() {
      fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    },
    async close() {
      try {
        if (server.child.exitCode === null) await server.stop('SIGTERM');
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Polls `check` until it holds; `what` names the wait in the failure. Bounds are generous on purpose. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
