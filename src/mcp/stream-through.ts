import type { ServerResponse } from 'node:http';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { UpstreamResponse } from '../core/upstream/upstream-http.ts';
import { isJsonContentType } from '../wire/body.ts';
import { answerFromEventStream, type JsonOnlyClient, type UpstreamLabel } from './event-stream-answer.ts';
import { sendJsonRpcError, sseFrame, type JsonRpcId } from './json-rpc.ts';

/** JSON answers up to this size are read whole, checked, and sent in one write. */
const HELD_ANSWER_BYTES = 64 * 1024;

/**
 * Pipes the upstream's answer to the client, so SSE events (progress included) arrive as they
 * are sent, pausing the upstream while the client is slower (memory stays bounded whatever the
 * size). The client of a request gets a JSON-RPC error rather than garbage or a silent hang-up
 * when the upstream answers with something that is not MCP, breaks off, falls silent for
 * longer than the timeout, or ends an event stream without answering. A client that takes only
 * JSON gets the answer an event stream carries, as JSON (see answerFromEventStream).
 */
export function streamThrough(
  res: ServerResponse,
  response: UpstreamResponse,
  id: JsonRpcId,
  upstream: UpstreamLabel,
  jsonOnly?: JsonOnlyClient,
): Promise<void> {
  const body = response.body;
  const status = response.statusCode;
  const contentType = typeof response.headers['content-type'] === 'string' ? response.headers['content-type'] : undefined;
  const isEventStream = contentType?.toLowerCase().startsWith('text/event-stream') === true;
  const isJson = isJsonContentType(contentType);
  const fail = (message: string) => sendJsonRpcError(res, 502, id, { code: ProtocolErrorCode.InternalError, message: `Upstream MCP server error: ${message}` });

  // undici errors a body destroyed before its end: heard here, so it cannot go unhandled.
  body.on('error', () => {});
  if (id !== null && status === 200 && !isEventStream && !isJson) {
    body.destroy();
    fail(`${upstream.host} answered with ${contentType ? `content-type ${contentType}` : 'no content-type'}, not MCP (JSON or an event stream)`);
    return Promise.resolve();
  }
  if (jsonOnly && id !== null && status === 200 && isEventStream) return answerFromEventStream(res, response, id, upstream, jsonOnly);

  const startStreaming = () => {
    res.statusCode = status;
    if (contentType) res.setHeader('content-type', contentType);
    const contentLength = response.headers['content-length'];
    // The body passes through unchanged, so a known length saves chunked framing.
    if (!isEventStream && contentLength !== undefined) res.setHeader('content-length', contentLength);
    if (isEventStream) {
      res.setHeader('cache-control', 'no-cache, no-transform');
      res.setHeader('x-accel-buffering', 'no');
      res.flushHeaders();
    }
  };
  const write = (chunk: Buffer) => {
    // Ended on our side (a shutdown ends listen streams): what still arrives has nowhere to go.
    if (res.writableEnded) return;
    if (!res.write(chunk)) {
      body.pause();
      res.once('drain', () => body.resume());
    }
  };

  return new Promise((resolve) => {
    let held: Buffer[] | undefined = isEventStream ? undefined : [];
    let heldBytes = 0;
    // Whether the stream may have carried an answer: every JSON-RPC answer names "result" or "error".
    const watchForAnswer = isEventStream && id !== null;
    let mayHaveAnswered = false;
    let tail: Buffer = Buffer.alloc(0);
    let failure: unknown;
    let ended = false;
    if (isEventStream) startStreaming();

    body.on('data', (chunk: Buffer) => {
      if (held) {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes <= HELD_ANSWER_BYTES) return;
        startStreaming();
        const all = Buffer.concat(held);
        held = undefined;
        write(all);
        return;
      }
      if (watchForAnswer && !mayHaveAnswered) {
        mayHaveAnswered = mentionsAnswer(Buffer.concat([tail, chunk]));
        tail = chunk.subarray(Math.max(0, chunk.length - 8));
      }
      write(chunk);
    });
    body.on('error', (error) => (failure ??= error));
    body.once('end', () => {
      ended = true;
      if (held) sendHeld(Buffer.concat(held));
      else if (watchForAnswer && !mayHaveAnswered && res.writable && !res.writableEnded) res.end(`\n\n${errorFrame(`${upstream.host} ended its event stream without answering`)}`);
      else res.end();
      resolve();
    });
    // An upstream that breaks off mid-body (or falls silent too long) errors the body; 'close' follows.
    body.once('close', () => {
      if (ended) return;
      const message = failure ? upstream.describe(failure) : `${upstream.host} closed the connection before answering`;
      if (!res.headersSent) fail(message);
      else if (isEventStream && id !== null && res.writable && !res.writableEnded) res.end(`\n\n${errorFrame(message)}`);
      else res.destroy();
      resolve();
    });
  });

  function sendHeld(answer: Buffer): void {
    const problem = id !== null && status === 200 ? answerProblem(answer, id) : undefined;
    if (problem) {
      fail(`${upstream.host} answered with ${problem}`);
      return;
    }
    res.statusCode = status;
    if (contentType) res.setHeader('content-type', contentType);
    res.setHeader('content-length', answer.length);
    res.end(answer);
  }

  function errorFrame(message: string): string {
    return sseFrame({ jsonrpc: '2.0', id, error: { code: ProtocolErrorCode.InternalError, message: `Upstream MCP server error: ${message}` } });
  }
}

function mentionsAnswer(bytes: Buffer): boolean {
  return bytes.includes('"result"') || bytes.includes('"error"');
}

/** What is wrong with a whole JSON answer to request `id`, if anything (a batch is not looked into). */
function answerProblem(answer: Buffer, id: string | number): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed)) return undefined;
  const message = parsed as { jsonrpc?: unknown; id?: unknown } | null | undefined;
  if (!message || typeof message !== 'object' || message.jsonrpc !== '2.0') return 'something that is not an MCP (JSON-RPC) message';
  if ('id' in message && message.id !== id) return 'the answer to another request (not an MCP (JSON-RPC) message for this one)';
  return undefined;
}
