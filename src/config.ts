import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting Switchboard reads from the environment. `process.env` is read here and
 * nowhere else; the frozen result is passed to whatever needs it.
 */
const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. https://switchboard.example.com' })
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  DATA_DIR: z.string().min(1).default('./data'),
  SWITCHBOARD_SECRET: z.string().min(32, 'must be at least 32 characters of random text').optional(),
  SWITCHBOARD_PREVIOUS_SECRETS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  CORS_ORIGINS: z.string().default('*'),
});

export type Config = Readonly<{
  host: string;
  port: number;
  publicUrl: string;
  database: Readonly<{ kind: 'postgres'; url: string; poolSize: number } | { kind: 'pglite'; dataDir: string }>;
  dataDir: string;
  /** Secrets from the environment; with none, the embedded default keeps one in `DATA_DIR/secret.key`. */
  secrets: Readonly<{ current?: string; previous: readonly string[] }>;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  maxBodyBytes: number;
  /** `'*'` or an explicit list of allowed browser origins. */
  corsOrigins: '*' | readonly string[];
}>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once. A bad value throws a `ConfigError` naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const nonEmpty = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(nonEmpty);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const previous = (e.SWITCHBOARD_PREVIOUS_SECRETS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (previous.some((s) => s.length < 32)) {
    throw new ConfigError('Invalid configuration:\n  SWITCHBOARD_PREVIOUS_SECRETS: every secret must be at least 32 characters');
  }
  if (e.DATABASE_URL && !e.SWITCHBOARD_SECRET) {
    // Replicas on one database must share the key that encrypts credentials and signs tokens.
    throw new ConfigError(
      'Invalid configuration:\n  SWITCHBOARD_SECRET: required when DATABASE_URL is set (every replica must share it; generate one with `openssl rand -base64 48`)',
    );
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const hostForUrl = e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST;
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://${hostForUrl}:${e.PORT}`).replace(/\/+$/, ''),
    database: e.DATABASE_URL
      ? { kind: 'postgres' as const, url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE }
      : { kind: 'pglite' as const, dataDir },
    dataDir,
    secrets: { current: e.SWITCHBOARD_SECRET, previous },
    logLevel: e.LOG_LEVEL,
    maxBodyBytes: e.MAX_BODY_BYTES,
    corsOrigins: e.CORS_ORIGINS.trim() === '*' ? ('*' as const) : e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
  });
}
