import type { ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';
import { createParser } from 'eventsource-parser';
import type { UpstreamResponse } from '../core/upstream/upstream-http.ts';
import { sendJsonRpcError } from './json-rpc.ts';

/** The upstream, for messages: its host (never the path), and how its failures read. */
export type UpstreamLabel = { host: string; describe(error: unknown): string };

/** A request the upstream sent the client in the middle of a call. */
export type ServerRequest = { id: string | number; method: string };

/** A client that takes only JSON answers (`Accept: application/json`, no event stream). */
export type JsonOnlyClient = {
  /** The most of the upstream's stream read before its answer, as for replies Switchboard reads whole. */
  maxBytes: number;
  /** A request the stream carries for the client, which such a client cannot receive. */
  cannotAsk(request: ServerRequest): void;
};

/**
 * Whether an Accept header takes `text/event-stream`: named, or through `text/` or any-type
 * wildcards, with a quality above zero. A client that sends no Accept takes anything (RFC 9110).
 */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (accept === undefined) return true;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== 'text/event-stream' && type !== 'text/*' && type !== '*/*') return false;
    const quality = params.find((param) => param.startsWith('q='));
    return quality === undefined || Number(quality.slice(2)) > 0;
  });
}

/**
 * For a client that takes only JSON (the `mcp.call` of @smithery/api 0.45 and 0.50): reads the
 * upstream's event stream to the answer to request `id` and sends that alone, as JSON. The rest
 * of the stream (progress, log messages) cannot reach such a client and is dropped. Every
 * failure streamThrough turns into a JSON-RPC error is one here too, and with the same words:
 * a stream that ends or breaks off without the answer, an upstream silent past the timeout (the
 * body's own deadline), and, since this reads rather than streams, more than `maxBytes`.
 */
export function answerFromEventStream(
  res: ServerResponse,
  response: UpstreamResponse,
  id: string | number,
  upstream: UpstreamLabel,
  client: JsonOnlyClient,
): Promise<void> {
  const body = response.body;
  const fail = (message: string) => {
    if (!res.headersSent && !res.destroyed) sendJsonRpcError(res, 502, id, { code: ProtocolErrorCode.InternalError, message: `Upstream MCP server error: ${message}` });
  };
  return new Promise((resolve) => {
    let answered = false;
    let seen = 0;
    let failure: unknown;
    let ended = false;
    // A character may straddle two chunks.
    const text = new StringDecoder('utf8');
    const parser = createParser({
      onEvent: (event) => {
        if (answered || (event.event !== undefined && event.event !== 'message')) return;
        const message = parseMessage(event.data);
        if (!message) return;
        if (typeof message.method === 'string') {
          if (typeof message.id === 'string' || typeof message.id === 'number') client.cannotAsk({ id: message.id, method: message.method });
          return;
        }
        if (message.id !== id || !('result' in message || 'error' in message)) return;
        answered = true;
        const payload = JSON.stringify(message);
        res.statusCode = 200;
        res.setHeader('content-type', 'application/json');
        res.setHeader('content-length', Buffer.byteLength(payload));
        res.end(payload);
      },
    });
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > client.maxBytes) {
        body.destroy();
        if (!answered) fail(`${upstream.host} sent more than ${client.maxBytes} bytes before answering, more than this server reads whole`);
        answered = true;
        return;
      }
      // Once answered, the rest is drained unread, so the connection can serve the next call.
      if (!answered) parser.feed(text.write(chunk));
    });
    body.on('error', (error) => (failure ??= error));
    body.once('end', () => {
      ended = true;
      if (!answered) fail(`${upstream.host} ended its event stream without answering`);
      resolve();
    });
    body.once('close', () => {
      if (!ended && !answered) fail(failure ? upstream.describe(failure) : `${upstream.host} closed the connection before answering`);
      resolve();
    });
  });
}

function parseMessage(data: string): Record<string, unknown> | undefined {
  try {
    const message = JSON.parse(data) as unknown;
    if (message && typeof message === 'object' && !Array.isArray(message) && (message as { jsonrpc?: unknown }).jsonrpc === '2.0') {
      return message as Record<string, unknown>;
    }
  } catch {
    // Not JSON: not a message for anyone.
  }
  return undefined;
}
