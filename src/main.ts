import { ConfigError, loadConfig } from './config.ts';
import { ensureFirstApiKey } from './core/accounts/first-api-key.ts';
import { DataDirInUseError } from './db/data-dir-lock.ts';
import { DatabaseUnavailableError } from './db/connection-loss.ts';
import { UnpatchedPostgresDriverError } from './db/postgres-driver-check.ts';
import { createLogger } from './logger.ts';
import { startServer } from './server.ts';

/** `npm start`: configuration from the environment, then serve until SIGTERM or SIGINT. */
export async function main(): Promise<void> {
  const startedAt = performance.now();
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config);
  let server;
  try {
    server = await startServer(config, logger);
    if (config.database.kind === 'pglite') {
      const keyFile = await ensureFirstApiKey(server.database.db, config.database.dataDir);
      if (keyFile) logger.info({ file: keyFile }, 'no API key existed, so one was made: it is in this file (owner-only); copy it, then delete the file');
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: { message } }, 'failed to start');
    // Errors an operator fixes by hand: said plainly on stderr too, not only in the JSON log.
    if (error instanceof DataDirInUseError || error instanceof UnpatchedPostgresDriverError || causedBy(error, DatabaseUnavailableError)) {
      process.stderr.write(`switchboard: ${message}\n`);
    }
    logger.flush(() => process.exit(1));
    return;
  }
  logger.info(
    {
      url: server.url,
      publicUrl: config.publicUrl,
      apiReference: `${config.publicUrlFromEnvironment ? config.publicUrl : server.url}/docs`,
      database: config.database.kind,
      ...(config.database.kind === 'pglite' ? { dataDir: config.database.dataDir } : {}),
      startupMs: Math.round(performance.now() - startedAt),
    },
    'switchboard listening',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const exit = (code: number) => logger.flush(() => process.exit(code));
    server.close().then(
      () => {
        logger.info('stopped');
        exit(0);
      },
      (error: unknown) => {
        logger.error({ err: { message: (error as Error).message } }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function causedBy(error: unknown, kind: new (...args: never[]) => Error): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof kind) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
