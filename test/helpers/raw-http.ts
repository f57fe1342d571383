import net from 'node:net';

/**
 * HTTP/1.1 over a bare socket, for hostile-input tests: fetch and node:http normalise or
 * refuse what these tests must send as is (`..` segments, bad percent-encoding, duplicate or
 * oversized headers, bodies whose length lies). Every request has a deadline, so a server that
 * hangs fails the test instead of stalling it.
 */
export type RawResponse = {
  status: number;
  headers: Record<string, string[]>;
  body: string;
  /** Whether the server closed the socket (always true once `connection: close` is honoured). */
  closed: boolean;
};

export type RawRequest = {
  method: string;
  /** Sent byte for byte (latin1): percent-encode what should be encoded. */
  target: string;
  headers?: [string, string][];
  body?: string | Buffer;
  /** Default: one request per socket, with a content-length for any body. */
  keepAlive?: boolean;
  timeoutMs?: number;
};

export class RawTimeout extends Error {
  override name = 'RawTimeout';
}

/** Sends one request and reads the answer until the server closes the socket. */
export function rawRequest(port: number, request: RawRequest): Promise<RawResponse> {
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  const headers: [string, string][] = [['host', `127.0.0.1:${port}`], ['connection', 'close'], ...(request.headers ?? [])];
  const named = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  if (body && !named('content-length') && !named('transfer-encoding')) headers.push(['content-length', String(body.length)]);
  const head = `${request.method} ${request.target} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return exchange(port, inPieces(Buffer.concat([Buffer.from(head, 'latin1'), ...(body ? [body] : [])])), request.timeoutMs ?? 15_000);
}

/** Requests go out in pieces, so that sending can stop once the server has answered. */
const PIECE_BYTES = 16 * 1024;

export function inPieces(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += PIECE_BYTES) pieces.push(bytes.subarray(at, at + PIECE_BYTES));
  return pieces;
}

/**
 * Writes the given byte chunks (already framed) and parses what comes back. Writing stops once
 * an answer arrives (a 413 or 431 comes early): bytes still in flight when the server closes
 * would make it reset the connection, which can discard its answer before we read it.
 */
export function exchange(port: number, chunks: Buffer[], timeoutMs: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RawTimeout(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk) => received.push(chunk));
    const writeFrom = (index: number) => {
      if (index >= chunks.length || received.length > 0 || socket.destroyed) return;
      socket.write(chunks[index]!, () => writeFrom(index + 1));
    };
    // The server may answer (413, 431) and close before it has read all we send.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(received);
      try {
        resolve({ ...parseResponse(raw), closed: true });
      } catch (error) {
        reject(error);
      }
    });
    socket.on('connect', () => writeFrom(0));
  });
}

export function parseResponse(raw: Buffer): Omit<RawResponse, 'closed'> {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${raw.length} bytes: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!status) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  let payload = raw.subarray(end + 4);
  if (headers['transfer-encoding']?.[0]?.toLowerCase() === 'chunked') payload = dechunk(payload);
  else if (headers['content-length']) payload = payload.subarray(0, Number(headers['content-length'][0]));
  return { status: Number(status[1]), headers, body: payload.toString('utf8') };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!size) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
