import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { answerClientError } from './http/client-errors.ts';
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

const IDLE_SWEEP_MS = 20;

/** Opens the database, migrates it, and serves the API. `database` overrides the config's target. */
export async function startServer(config: Config, logger: Logger, database?: OpenDatabase): Promise<RunningServer> {
  const db = database ?? (await openDb(config.database));
  try {
    await migrateToLatest(db.db);
    // Listen first: with PORT=0 the port, and so the default PUBLIC_URL (OAuth redirects, links),
    // is known only then. A request arriving before the app is ready waits for it.
    let handler: http.RequestListener | undefined;
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    let stopping = false;
    // Slow senders are cut (a JSON 408, see answerClientError): headers within 30 s, the whole
    // request within 5 min, checked every 5 s (Node's default sweep is every 30 s).
    const timeouts = { requestTimeout: 5 * 60_000, headersTimeout: 30_000, connectionsCheckingInterval: 5_000 };
    const server = http.createServer({ ...timeouts, keepAliveTimeout: 65_000 }, (req, res) => {
      // While stopping, answer what arrives on kept-alive sockets, then let the client go.
      if (stopping) res.setHeader('connection', 'close');
      if (handler) handler(req, res);
      else void ready.then(() => handler!(req, res));
    });
    server.on('clientError', answerClientError);
    // Past the cap, Node closes a new connection on arrival; those already open carry on.
    if (config.maxConnections > 0) server.maxConnections = config.maxConnections;
    await listen(server, config.host, config.port);
    const { port } = server.address() as AddressInfo;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const effective = config.publicUrlFromEnvironment ? config : Object.freeze({ ...config, publicUrl: `http://${host}:${port}` });
    let services;
    try {
      services = await createServices(effective, logger, db);
    } catch (error) {
      server.close();
      throw error;
    }
    handler = createApp(services).handler;
    markReady();
    return {
      url: `http://${host}:${port}`,
      port,
      httpServer: server,
      database: db,
      /**
       * Graceful: stop accepting, let requests in flight (event streams included) finish for up
       * to the grace period, cut what is left, end upstream sessions, close the database.
       */
      async close() {
        stopping = true;
        services.gateway.stopStreams();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // A response promised keep-alive before stopping began leaves a socket the client would
          // hold open: close sockets as they go idle, not at the end of the grace period.
          const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
          sweep.unref();
          server.once('close', () => clearInterval(sweep));
          const cut = setTimeout(() => {
            logger.warn({ graceMs: config.shutdownGraceMs }, 'grace period over: closing the connections still open');
            server.closeAllConnections();
          }, config.shutdownGraceMs);
          cut.unref();
          server.once('close', () => clearTimeout(cut));
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
