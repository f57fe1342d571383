import http from 'node:http';
import https from 'node:https';

/**
 * The forwarding hot path's HTTP client: node:http with keep-alive pools, which costs far
 * less per request than fetch. The response is handed over unread, so a stream (SSE) flows
 * through as it arrives.
 */
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' }),
};

export type UpstreamRequest = {
  url: URL;
  method: 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: Buffer;
  /** Until the response headers arrive; a stream may then take as long as it takes. */
  timeoutMs: number;
  /** Aborts the request, e.g. when the client went away. */
  signal?: AbortSignal;
};

export function sendUpstream(request: UpstreamRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = request.url.protocol === 'https:';
    const headers: http.OutgoingHttpHeaders = { ...request.headers };
    if (request.body) headers['content-length'] = request.body.length;
    const outgoing = (secure ? https : http).request(request.url, {
      method: request.method,
      headers,
      agent: agents[secure ? 'https:' : 'http:'],
      signal: request.signal,
    });
    const timer = setTimeout(() => {
      const error = new Error(`No response within ${request.timeoutMs} ms`);
      error.name = 'TimeoutError';
      outgoing.destroy(error);
    }, request.timeoutMs);
    outgoing.once('response', (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    outgoing.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    outgoing.end(request.body);
  });
}

/** Reads a small response body whole (error answers), refusing more than `limit` bytes. */
export async function readSmallBody(response: http.IncomingMessage, limit = 64 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      response.destroy();
      throw Object.assign(new Error('Upstream reply too large'), { code: 'UPSTREAM_TOO_LARGE' });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
