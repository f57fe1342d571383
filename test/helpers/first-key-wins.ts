import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * JSON as some parsers read it: of duplicate keys, the FIRST wins (JSON.parse keeps the last).
 * Objects have no prototype, so `__proto__` is a key like any other. Strict enough for the
 * JSON these tests send; throws on anything else.
 */
export function parseFirstKeyWins(text: string): unknown {
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && ' \t\r\n'.includes(text[at]!)) at++;
  };
  const expect = (char: string) => {
    skipSpace();
    if (text[at] !== char) throw new SyntaxError(`expected ${char} at ${at}`);
    at++;
  };
  const string = (): string => {
    skipSpace();
    const start = at;
    if (text[at] !== '"') throw new SyntaxError(`expected a string at ${at}`);
    for (at++; text[at] !== '"'; at++) {
      if (at >= text.length) throw new SyntaxError('unterminated string');
      if (text[at] === '\\') at++;
    }
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const value = (): unknown => {
    skipSpace();
    const char = text[at];
    if (char === '{') {
      at++;
      const object: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      skipSpace();
      if (text[at] === '}') return at++, object;
      for (;;) {
        const key = string();
        expect(':');
        const item = value();
        if (!Object.hasOwn(object, key)) object[key] = item;
        skipSpace();
        if (text[at] === '}') return at++, object;
        expect(',');
      }
    }
    if (char === '[') {
      at++;
      const array: unknown[] = [];
      skipSpace();
      if (text[at] === ']') return at++, array;
      for (;;) {
        array.push(value());
        skipSpace();
        if (text[at] === ']') return at++, array;
        expect(',');
      }
    }
    if (char === '"') return string();
    const literal = /-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null/y;
    literal.lastIndex = at;
    const match = literal.exec(text);
    if (!match) throw new SyntaxError(`unexpected ${char} at ${at}`);
    at += match[0].length;
    return JSON.parse(match[0]) as unknown;
  };
  const result = value();
  skipSpace();
  if (at !== text.length) throw new SyntaxError(`trailing text at ${at}`);
  return result;
}

export type FirstKeyWinsFront = {
  url: string;
  /** Every request body that reached it, as received. */
  bodies: string[];
  /** The headers of each of `bodies`, at the same index. */
  headers: http.IncomingHttpHeaders[];
  close(): Promise<void>;
};

/**
 * An upstream that reads JSON first-key-wins: a front, on loopback, that parses each posted
 * body with `parseFirstKeyWins` and hands what it read on to a real MCP server at `target`
 * (`{host, port}` of its origin). What a first-key-wins upstream would run is what runs.
 */
export async function startFirstKeyWinsFront(targetPort: number): Promise<FirstKeyWinsFront> {
  const bodies: string[] = [];
  const receivedHeaders: http.IncomingHttpHeaders[] = [];
  const front = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = Buffer.concat(chunks).toString('utf8');
      let body = received;
      if (received.length > 0) {
        bodies.push(received);
        receivedHeaders.push(req.headers);
        try {
          body = JSON.stringify(parseFirstKeyWins(received));
        } catch {
          // Not JSON as this parser reads it: passed on as it is.
        }
      }
      const headers = { ...req.headers, 'content-length': String(Buffer.byteLength(body)) };
      const upstream = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}/mcp`,
    bodies,
    headers: receivedHeaders,
    close: () =>
      new Promise<void>((resolve) => {
        front.close(() => resolve());
        front.closeAllConnections();
      }),
  };
}
