/**
 * The cheapest MCP server there is: canned JSON-RPC answers over node:http, so that in a
 * benchmark whatever sits in front of it is the bottleneck. 2025-11-25 with a session id.
 *
 *   node --import tsx scripts/lib/trivial-upstream.ts <port>     prints `listening <port>`
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const SESSION_ID = 'trivial-session';
const tools = [{ name: 'echo', description: 'Echoes', inputSchema: { type: 'object', properties: { message: { type: 'string' } } } }];

function resultFor(method: string, params: { arguments?: { message?: unknown } } | undefined): unknown {
  switch (method) {
    case 'initialize':
      return { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'trivial', version: '1.0.0' } };
    case 'tools/list':
      return { tools };
    case 'tools/call':
      return { content: [{ type: 'text', text: `Echo: ${String(params?.arguments?.message ?? '')}` }] };
    case 'ping':
      return {};
    default:
      return undefined;
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'DELETE') return void res.writeHead(200).end();
  if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST, DELETE' }).end();
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let message: { id?: unknown; method?: string; params?: { arguments?: { message?: unknown } } };
    try {
      message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return void res.writeHead(400).end();
    }
    if (message.id === undefined) return void res.writeHead(202).end();
    const result = resultFor(message.method ?? '', message.params);
    const body = JSON.stringify(
      result === undefined
        ? { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } }
        : { jsonrpc: '2.0', id: message.id, result },
    );
    // 2025-era servers answer a 2026 `server/discover` probe with a 400: clients fall back to initialize.
    const status = message.method === 'server/discover' ? 400 : 200;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'mcp-session-id': SESSION_ID });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
