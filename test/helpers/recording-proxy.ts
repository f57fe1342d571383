import http from 'node:http';

export type RecordedRequest = { method: string; apiKey: string | undefined; body: string };

/**
 * An HTTP reverse proxy in front of an upstream MCP server that records every request it
 * passes on (method, the `x-api-key` credential, body): who reached that upstream, with what.
 * Replies stream back untouched (SSE included).
 */
export type RecordingProxy = { url: string; seen: RecordedRequest[]; close(): Promise<void> };

export async function startRecordingProxy(upstreamUrl: string): Promise<RecordingProxy> {
  const target = new URL(upstreamUrl);
  const seen: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const apiKey = req.headers['x-api-key'];
      seen.push({ method: req.method ?? '', apiKey: typeof apiKey === 'string' ? apiKey : undefined, body: body.toString('utf8') });
      const forwarded = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      forwarded.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
