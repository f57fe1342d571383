/**
 * An MCP server (2025-11-25, with sessions, official SDK) on a loopback port, in the calling
 * process, that writes down every HTTP request it gets: how many upstream round trips a call
 * through Switchboard costs. Its tools can be added and removed while it runs, and it can
 * answer each request after a delay (a far-away server). Used by the round-trip tests and
 * the bench's round-trip section.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProtocolError, ProtocolErrorCode, Server, isInitializeRequest } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';

export type CountingUpstreamOptions = {
  /** Every request is answered this much later (default 0). */
  delayMs?: number;
  /** Whether it declares `tools.listChanged` (default true). */
  listChanged?: boolean;
  /**
   * How it answers a call of a tool it does not have: a JSON-RPC error -32602, as the 2.x
   * SDK servers do (default), or a tool result with `isError`, as the 1.x SDK servers do.
   */
  unknownToolAs?: 'error' | 'result';
};

export type CountingUpstream = {
  url: string;
  /** One entry per HTTP request: the JSON-RPC method of a POST, else the HTTP method and path. */
  readonly requests: string[];
  /**
   * The most requests it was answering at once (the session's long-lived GET stream left out):
   * above 1 when a client sends requests side by side rather than one after another.
   */
  readonly peakConcurrency: number;
  /** Requests it is answering now (the session's GET stream left out). */
  readonly inFlight: number;
  /** Starts counting `peakConcurrency` afresh (from the requests in flight now). */
  resetPeakConcurrency(): void;
  /** How many requests carried `method` (e.g. `tools/list`). */
  count(method: string): number;
  addTool(name: string): void;
  removeTool(name: string): void;
  /** Sends `notifications/tools/list_changed` on every open session's stream. */
  announceToolsChanged(): Promise<void>;
  close(): Promise<void>;
};

export async function startCountingUpstream(options: CountingUpstreamOptions = {}): Promise<CountingUpstream> {
  const delayMs = options.delayMs ?? 0;
  const tools = new Set<string>(['echo']);
  const requests: string[] = [];
  let inFlight = 0;
  let peakConcurrency = 0;
  const sessions = new Map<string, { transport: NodeStreamableHTTPServerTransport; server: Server }>();

  function buildServer(): Server {
    const server = new Server(
      { name: 'counting-upstream', version: '1.0.0' },
      { capabilities: { tools: { listChanged: options.listChanged ?? true } } },
    );
    server.setRequestHandler('tools/list', async () => ({
      tools: [...tools].map((name) => ({ name, description: `Answers with its arguments`, inputSchema: { type: 'object' as const } })),
    }));
    server.setRequestHandler('tools/call', async (request) => {
      const { name, arguments: args } = request.params;
      if (!tools.has(name)) {
        if (options.unknownToolAs === 'result') {
          return { content: [{ type: 'text' as const, text: `MCP error -32602: Tool ${name} not found` }], isError: true };
        }
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${name} not found`);
      }
      return { content: [{ type: 'text' as const, text: `${name}: ${JSON.stringify(args ?? {})}` }] };
    });
    return server;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const path = (req.url ?? '/').split('?')[0];
    requests.push(req.method === 'POST' && path === '/mcp' ? rpcMethodsOf(body) : `${req.method} ${path}`);
    if (delayMs > 0) {
      const counted = !(req.method === 'GET' && path === '/mcp');
      if (counted) peakConcurrency = Math.max(peakConcurrency, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (counted) inFlight--;
    }
    if (path !== '/mcp') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    const sid = req.headers['mcp-session-id'] as string | undefined;
    const existing = sid ? sessions.get(sid) : undefined;
    if (existing) return existing.transport.handleRequest(req, res, body);
    if (!sid && isInitializeRequest(body)) {
      const server = buildServer();
      const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    // A 2025-era server answers a 2026 `server/discover` probe (no session, no initialize) with a 400.
    res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: sid ? -32001 : -32000, message: sid ? 'Session not found' : 'Bad Request: Server not initialized' } }));
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    get peakConcurrency() {
      return peakConcurrency;
    },
    get inFlight() {
      return inFlight;
    },
    resetPeakConcurrency: () => void (peakConcurrency = inFlight),
    count: (method) => requests.filter((request) => request === method).length,
    addTool: (name) => void tools.add(name),
    removeTool: (name) => void tools.delete(name),
    async announceToolsChanged() {
      await Promise.all([...sessions.values()].map(({ server }) => server.sendToolListChanged().catch(() => {})));
    },
    async close() {
      await Promise.all([...sessions.values()].map(({ transport }) => transport.close().catch(() => {})));
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

function rpcMethodsOf(body: unknown): string {
  const messages = Array.isArray(body) ? body : [body];
  return messages.map((message) => (message as { method?: unknown })?.method ?? 'response').join(',');
}
