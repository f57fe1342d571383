import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import { migrateToLatest, openDb, type OpenDatabase } from './db/open.ts';
import type { Logger } from './logger.ts';
import { createServices } from './services.ts';

export type RunningServer = {
  url: string;
  port: number;
  httpServer: http.Server;
  database: OpenDatabase;
  close(): Promise<void>;
};

/** Opens the database, migrates it, and serves the API. `database` overrides the config's target. */
export async function startServer(config: Config, logger: Logger, database?: OpenDatabase): Promise<RunningServer> {
  const db = database ?? (await openDb(config.database));
  try {
    await migrateToLatest(db.db);
    const services = await createServices(config, logger, db);
    const app = createApp(services);
    const server = http.createServer({ requestTimeout: 5 * 60_000, headersTimeout: 30_000, keepAliveTimeout: 65_000 }, app.handler);
    await listen(server, config.host, config.port);
    const { port } = server.address() as AddressInfo;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    return {
      url: `http://${host}:${port}`,
      port,
      httpServer: server,
      database: db,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await services.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new Error(`Port ${port} on ${host} is already in use: set PORT to another port`));
      else if (error.code === 'EADDRNOTAVAIL') reject(new Error(`HOST ${host} is not an address of this machine`));
      else reject(error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
