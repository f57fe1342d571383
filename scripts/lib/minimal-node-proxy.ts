/**
 * The least a Node.js reverse proxy can do: node:http in front, an undici pool behind, the body
 * and the MCP headers passed through, nothing checked. Not Switchboard: the bench measures it as
 * the floor of what a proxy written in Node costs on this machine, next to nginx's.
 *
 *   node --import tsx scripts/lib/minimal-node-proxy.ts <port> <upstream origin>   prints `listening <port>`
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const [port, origin] = process.argv.slice(2);
const upstream = new Pool(origin!, { connections: 256, pipelining: 1 });
const PASSED = ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version'];

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const headers: Record<string, string> = {};
    for (const name of PASSED) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name] as string;
    upstream
      .request({ path: req.url ?? '/', method: 'POST', headers, body: Buffer.concat(chunks) })
      .then(({ statusCode, headers: answered, body }) => {
        res.statusCode = statusCode;
        for (const name of ['content-type', 'content-length', 'mcp-session-id']) if (answered[name] !== undefined) res.setHeader(name, answered[name]!);
        body.pipe(res);
      })
      .catch(() => res.writeHead(502).end());
  });
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
