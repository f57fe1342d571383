import path from 'node:path';
import { z } from 'zod';
import { parseEgressAllowlist, type EgressAllowlist } from './egress-allowlist.ts';
import { telemetryConfig, telemetryEnv, type TelemetryConfig } from './telemetry-config.ts';

/**
 * Every setting Switchboard reads from the environment. `process.env` is read here and
 * nowhere else; the frozen result is passed to whatever needs it.
 */
const integer = (min: number, max: number, what: string) =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int({ error: `must be ${what}` })
    .min(min, { error: `must be ${what}` })
    .max(max, { error: `must be ${what}` });

const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(0, 65535, 'a port number from 0 to 65535').default(8080),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. https://switchboard.example.com' })
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: integer(1, 500, 'a whole number from 1 to 500').default(10),
  DATA_DIR: z.string().min(1).default('./data'),
  SWITCHBOARD_SECRET: z.string().min(32, 'must be at least 32 characters of random text').optional(),
  SWITCHBOARD_PREVIOUS_SECRETS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // auto: readable and coloured when stdout is a terminal, JSON lines otherwise.
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { error: 'must be auto, json or pretty' }).default('auto'),
  MAX_BODY_BYTES: integer(1024, 64 * 1024 * 1024, 'a byte count from 1024 to 67108864').default(1024 * 1024),
  CORS_ORIGINS: z.string().default('*'),
  UPSTREAM_TIMEOUT_MS: integer(100, 600_000, 'a number of milliseconds from 100 to 600000').default(30_000),
  // How long a connection's upstream tool list serves REST calls and the toolbox unasked; 0 = ask every time.
  TOOL_LIST_TTL_SECONDS: integer(0, 24 * 3600, 'a number of seconds from 0 to 86400 (a day)').default(300),
  MAX_UPSTREAM_RESPONSE_BYTES: integer(64 * 1024, 1024 * 1024 * 1024, 'a byte count from 65536 to 1073741824').default(16 * 1024 * 1024),
  OAUTH_RETURN_ORIGINS: z.string().default(''),
  SETUP_LINK_TTL_SECONDS: integer(60, 30 * 24 * 3600, 'a number of seconds from 60 to 2592000 (30 days)').default(24 * 3600),
  OAUTH_LINK_TTL_SECONDS: integer(60, 24 * 3600, 'a number of seconds from 60 to 86400 (a day)').default(15 * 60),
  ALLOWED_UPSTREAM_HOSTS: z.string().default(''),
  SHUTDOWN_GRACE_MS: integer(0, 600_000, 'a number of milliseconds from 0 to 600000').default(25_000),
  // API keys belong to the app's trusted backend; tokens live in browsers and agents.
  RATE_LIMIT_API_KEY_PER_MINUTE: integer(0, 100_000_000, 'a whole number from 0 (unlimited) to 100000000').default(0),
  RATE_LIMIT_TOKEN_PER_MINUTE: integer(0, 100_000_000, 'a whole number from 0 (unlimited) to 100000000').default(600),
  /** For tests: a shorter window (the limits then count per window). */
  RATE_LIMIT_WINDOW_MS: integer(1000, 3_600_000, 'a number of milliseconds from 1000 to 3600000').default(60_000),
  // Failed authentications per client address per minute before it gets 429s; 0 = no limit.
  AUTH_FAILURES_PER_MINUTE: integer(0, 1_000_000, 'a whole number from 0 (no limit) to 1000000').default(60),
  // Reverse proxies in front whose X-Forwarded-For entries name the client; 0 = the socket's address.
  TRUST_PROXY: integer(0, 10, 'a number of proxy hops from 0 to 10').default(0),
  MAX_CONNECTIONS: integer(0, 1_000_000, 'a whole number from 0 (unlimited) to 1000000').default(10_000),
  UNAUTHENTICATED_BODY_TIMEOUT_MS: integer(100, 600_000, 'a number of milliseconds from 100 to 600000').default(10_000),
  WEBHOOK_RETRY_BASE_MS: integer(10, 3_600_000, 'a number of milliseconds from 10 to 3600000').default(10_000),
  WEBHOOK_MAX_ATTEMPTS: integer(1, 20, 'a whole number from 1 to 20').default(8),
  MCP_SESSION_IDLE_SECONDS: integer(1, 7 * 24 * 3600, 'a number of seconds from 1 to 604800 (a week)').default(600),
  MCP_MAX_SESSIONS: integer(1, 1_000_000, 'a whole number from 1 to 1000000').default(1000),
  MCP_MAX_SESSIONS_PER_CALLER: integer(1, 1_000_000, 'a whole number from 1 to 1000000').default(100),
  ...telemetryEnv,
});

/** The names of every variable the service reads (`.env.example` documents each; a test holds it to that). */
export const serviceSettingNames: readonly string[] = Object.keys(envSchema.shape);

export type Config = Readonly<{
  host: string;
  port: number;
  publicUrl: string;
  /** Whether PUBLIC_URL was set; otherwise it is http://HOST:PORT with the port actually bound. */
  publicUrlFromEnvironment: boolean;
  database: Readonly<{ kind: 'postgres'; url: string; poolSize: number } | { kind: 'pglite'; dataDir: string }>;
  dataDir: string;
  /** Secrets from the environment; with none, the embedded default keeps one in `DATA_DIR/secret.key`. */
  secrets: Readonly<{ current?: string; previous: readonly string[] }>;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** JSON lines, or readable lines for a person; `auto` picks readable when stdout is a terminal. */
  logFormat: z.infer<typeof envSchema>['LOG_FORMAT'];
  maxBodyBytes: number;
  /** `'*'` or an explicit list of allowed browser origins. */
  corsOrigins: '*' | readonly string[];
  /** How long an upstream may stay silent: to connect, to start answering, between events of a stream. */
  upstreamTimeoutMs: number;
  /**
   * How long an upstream's tool list is used, for REST tool calls and the toolbox, without a
   * new `tools/list`; `list_changed` and an "unknown tool" answer end it sooner.
   */
  toolListTtlMs: number;
  /**
   * The largest upstream reply Switchboard reads whole (the calls it makes itself: REST tools,
   * listings; and an event stream read for a client that takes only JSON). Otherwise the MCP
   * endpoint streams replies through, so they are not limited by it.
   */
  maxUpstreamResponseBytes: number;
  /** Origins an end user may be sent back to after authorizing an upstream. */
  oauthReturnOrigins: readonly string[];
  /** How long a setup link (a connection's setupUrl) works after it was minted. */
  setupLinkTtlSeconds: number;
  /** How long an authorization link (a connection's authorizationUrl) works after it was minted; it works once. */
  oauthLinkTtlSeconds: number;
  /**
   * Hosts, addresses and ranges that upstream and OAuth requests may reach although they are
   * not public (loopback, private networks, …), on the port an entry names or, without one, on
   * every port; empty: public addresses only.
   */
  allowedUpstreamHosts: EgressAllowlist;
  /** On SIGTERM, how long requests in flight may take to finish before they are cut. */
  shutdownGraceMs: number;
  /** Requests per window (one minute unless a test shortens it) per API key and per token; 0 = unlimited. */
  rateLimits: Readonly<{ apiKeyPerWindow: number; tokenPerWindow: number; windowMs: number }>;
  /**
   * Failed authentications a client address may make per minute (0 = no limit), and how many
   * reverse-proxy hops of X-Forwarded-For to trust when naming the address (0 = the socket's).
   */
  authFailures: Readonly<{ perMinute: number; trustProxyHops: number }>;
  /** Open client connections the server accepts at once (0 = unlimited); more are closed on arrival. */
  maxConnections: number;
  /** How long a request not (yet) authenticated may take to send its body (setup forms, pages). */
  unauthenticatedBodyTimeoutMs: number;
  /** Webhook retries: the first wait (later ones are multiples of it) and how many attempts in all. */
  webhookRetry: Readonly<{ baseMs: number; maxAttempts: number }>;
  /** `/metrics` (where and how it is protected) and OpenTelemetry traces. */
  /**
   * Clients' own MCP sessions (see docs/mcp-sessions.md): ended after this long unused, and at
   * most this many live in a process, and per API key or service token.
   */
  mcpSessions: Readonly<{ idleMs: number; maxSessions: number; maxPerCaller: number }>;
  telemetry: TelemetryConfig;
}>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parseOrigins(list: string): string[] {
  const origins = list.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(`Invalid configuration:\n  OAUTH_RETURN_ORIGINS: "${origin}" is not an origin such as https://app.example.com`);
    }
  }
  return origins.map((origin) => origin.replace(/\/$/, ''));
}

function parseAllowedUpstreamHosts(list: string): EgressAllowlist {
  try {
    return parseEgressAllowlist(list);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ALLOWED_UPSTREAM_HOSTS: ${(error as Error).message}`);
  }
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
    publicUrlFromEnvironment: e.PUBLIC_URL !== undefined,
    database: e.DATABASE_URL
      ? { kind: 'postgres' as const, url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE }
      : { kind: 'pglite' as const, dataDir },
    dataDir,
    secrets: { current: e.SWITCHBOARD_SECRET, previous },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    maxBodyBytes: e.MAX_BODY_BYTES,
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    toolListTtlMs: e.TOOL_LIST_TTL_SECONDS * 1000,
    maxUpstreamResponseBytes: e.MAX_UPSTREAM_RESPONSE_BYTES,
    oauthReturnOrigins: parseOrigins(e.OAUTH_RETURN_ORIGINS),
    setupLinkTtlSeconds: e.SETUP_LINK_TTL_SECONDS,
    oauthLinkTtlSeconds: e.OAUTH_LINK_TTL_SECONDS,
    allowedUpstreamHosts: parseAllowedUpstreamHosts(e.ALLOWED_UPSTREAM_HOSTS),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    rateLimits: Object.freeze({
      apiKeyPerWindow: e.RATE_LIMIT_API_KEY_PER_MINUTE,
      tokenPerWindow: e.RATE_LIMIT_TOKEN_PER_MINUTE,
      windowMs: e.RATE_LIMIT_WINDOW_MS,
    }),
    authFailures: Object.freeze({ perMinute: e.AUTH_FAILURES_PER_MINUTE, trustProxyHops: e.TRUST_PROXY }),
    maxConnections: e.MAX_CONNECTIONS,
    unauthenticatedBodyTimeoutMs: e.UNAUTHENTICATED_BODY_TIMEOUT_MS,
    webhookRetry: Object.freeze({ baseMs: e.WEBHOOK_RETRY_BASE_MS, maxAttempts: e.WEBHOOK_MAX_ATTEMPTS }),
    mcpSessions: Object.freeze({ idleMs: e.MCP_SESSION_IDLE_SECONDS * 1000, maxSessions: e.MCP_MAX_SESSIONS, maxPerCaller: e.MCP_MAX_SESSIONS_PER_CALLER }),
    telemetry: telemetryConfig(e),
    corsOrigins: e.CORS_ORIGINS.trim() === '*' ? ('*' as const) : e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
  });
}

const clientEnvSchema = z.object({
  SWITCHBOARD_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. http://127.0.0.1:8080' })
    .default('http://127.0.0.1:8080'),
  SWITCHBOARD_API_KEY: z.string().optional(),
});

/** The variables only the `switchboard` command's HTTP commands read. */
export const clientSettingNames: readonly string[] = Object.keys(clientEnvSchema.shape);

/** What the `switchboard` command needs to talk to a running server (and nothing of the database). */
export type ClientConfig = Readonly<{ url: string; apiKey?: string }>;

/** The CLI's HTTP client settings, from SWITCHBOARD_URL and SWITCHBOARD_API_KEY; flags override them. */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const nonEmpty = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = clientEnvSchema.safeParse(nonEmpty);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze({ url: parsed.data.SWITCHBOARD_URL.replace(/\/+$/, ''), apiKey: parsed.data.SWITCHBOARD_API_KEY });
}
