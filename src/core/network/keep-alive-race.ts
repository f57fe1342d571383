import type { buildConnector } from 'undici';

/** undici's connector (guarded-dispatcher.ts calls it EgressConnector; naming that here would make the two import each other). */
type Connector = buildConnector.connector;

/**
 * The keep-alive race: an upstream closes a kept-alive connection as idle just as a request is
 * written to it. The server dropped the request unread, so sending it again on a fresh
 * connection is safe, as browsers do. Switchboard's own idle timer, set from the server's
 * Keep-Alive hint, normally closes first; under event-loop lag the close can lose.
 */

/**
 * Errors raised on a socket that had already read a reply. undici reports a connection reset
 * (ECONNRESET, EPIPE) as the socket's own error, which says nothing of the connection's past:
 * this remembers it, so a reset on a kept-alive connection can be told from one on a new one.
 */
const errorsOnUsedSockets = new WeakSet<Error>();

/** A connector whose sockets remember which of their errors came after a reply had been read. */
export function noticingUsedSockets(connect: Connector): Connector {
  return (options, callback) =>
    connect(options, (...args) => {
      const socket = args[1];
      // Registered before undici's own listener, so it runs first.
      socket?.on('error', (error: Error) => {
        if (socket.bytesRead > 0) errorsOnUsedSockets.add(error);
      });
      callback(...args);
    });
}

/**
 * Whether a request failed to the race: it got no byte back on a connection that had served
 * earlier answers, closed cleanly or reset (Linux sends a reset when a server closes a socket
 * with the request still unread in it). Only errors raised before any reply count: callers
 * ask this of a request that failed before its response began.
 */
export function lostToKeepAliveRace(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, socket } = error as { code?: unknown; socket?: { bytesRead?: number } };
  if (code === 'UND_ERR_SOCKET') return error.message === 'other side closed' && (socket?.bytesRead ?? 0) > 0;
  return (code === 'ECONNRESET' || code === 'EPIPE') && errorsOnUsedSockets.has(error);
}
