import {
  Client,
  StreamableHTTPClientTransport,
  type AuthProvider,
  type ClientCapabilities,
  type jsonSchemaValidator,
  type DiscoverResult,
  type Implementation,
  type PriorDiscovery,
  type ServerCapabilities,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/client';
import { SWITCHBOARD_VERSION } from '../../version.ts';
import type { ServerInfo } from '../connections/connection-status.ts';
import type { Egress } from '../network/guarded-dispatcher.ts';
import { createReplyGuards } from './reply-guards.ts';
import { createToolListCache, type ToolListCache } from './tool-list-cache.ts';

/**
 * Which generation of MCP an upstream speaks, by the spec revisions that define it: the 2025
 * revisions (2025-03-26 … 2025-11-25) open a session with `initialize` and carry its id on every
 * request; 2026-07-28 has no sessions, each request carrying its version and capabilities in
 * `params._meta`. (The SDK calls these `legacy` and `modern`.)
 */
export type ProtocolEra = 'sessions-2025' | 'stateless-2026';

export type SessionEgress = Pick<Egress, 'fetch' | 'connect' | 'observer'>;

/**
 * Switchboard relays what upstream tools return; judging their output against their own
 * schemas is the calling client's business. Without this, every session would carry its own
 * JSON Schema compiler (the SDK's default), the larger part of a session's memory.
 */
const passThroughValidator = {
  getValidator: () => (input: unknown) => ({ valid: true as const, data: input, errorMessage: undefined }),
} as jsonSchemaValidator;

/** What the upstream said about itself when the session was opened. */
export type UpstreamIdentity = {
  protocolVersion: string;
  capabilities: ServerCapabilities;
  serverInfo: Implementation | undefined;
  instructions: string | undefined;
};

/**
 * One MCP session with one upstream, opened with the official SDK client: it negotiates the
 * protocol (2026-07-28 `server/discover`, or the 2025 `initialize` handshake), and its
 * session id and version are what the raw forwarder sends along.
 */
export type UpstreamSession = {
  readonly url: URL;
  readonly era: ProtocolEra;
  readonly protocolVersion: string;
  readonly sessionId: string | undefined;
  readonly identity: UpstreamIdentity;
  readonly serverInfo: ServerInfo | null;
  readonly discover: DiscoverResult | undefined;
  /** The SDK client on this session, for calls Switchboard makes itself (REST tools). */
  readonly client: Client;
  /** How the raw forwarder reaches this upstream: through the same egress guard. */
  readonly egress: SessionEgress;
  /** The upstream's tool list as this session last heard it (see tool-list-cache.ts). */
  readonly tools: ToolListCache;
  lastUsedAt: number;
  /** Ends the session: `terminate` also tells the upstream (DELETE) so it frees its side. */
  close(options: { terminate: boolean }): Promise<void>;
};

/**
 * What a raw exchange on a session needs (raw-forward.ts): where, which session, which version,
 * through which egress. A session another replica opened is reached with this alone.
 */
export type SessionWire = Pick<UpstreamSession, 'url' | 'era' | 'protocolVersion' | 'sessionId' | 'egress'>;

export type OpenSessionOptions = {
  url: URL;
  credentials: Readonly<Record<string, string>>;
  /** Bearer tokens for an OAuth-protected upstream (asked before every request, refreshed on 401). */
  authProvider?: AuthProvider;
  /** Hears every 401/403 challenge the upstream sends (where its OAuth metadata is, what scope it wants). */
  onChallenge?: (response: Response) => void;
  timeoutMs: number;
  /** How long the session's tool list is used without asking the upstream again. */
  toolListTtlMs: number;
  /** Every request of the session goes out through it (see core/network: no private addresses). */
  egress: SessionEgress;
  /** The largest reply read whole; a larger one fails the call (see reply-guards.ts). */
  maxReplyBytes: number;
  /** What an earlier session with this upstream found, to skip the era probe (the SDK's words: `legacy` is sessions-2025). */
  prior?: PriorDiscovery;
  /**
   * Set for a session opened on behalf of one client (see client-sessions.ts): what that client
   * declared at initialize is declared upstream, so the server offers what the client can do.
   * Such a session holds no standalone GET stream of its own: the upstream allows one per
   * session, and it belongs to the client's GET.
   */
  forClient?: ClientDeclaration;
  onError?: (error: Error) => void;
};

/** What a client declared in its `initialize`: its capabilities and the protocol version it asked for. */
export type ClientDeclaration = { capabilities: ClientCapabilities; protocolVersion: string | undefined };

export async function openUpstreamSession(options: OpenSessionOptions): Promise<UpstreamSession> {
  const onChallenge = options.onChallenge;
  const guards = createReplyGuards(options.maxReplyBytes);
  const egressFetch = options.forClient ? withoutStandaloneStream(options.egress.fetch) : options.egress.fetch;
  const transport = new StreamableHTTPClientTransport(options.url, {
    requestInit: { headers: { ...options.credentials } },
    ...(options.authProvider ? { authProvider: options.authProvider } : {}),
    fetch: guards.fetch(
      onChallenge
        ? async (input: string | URL, init?: RequestInit) => {
            const response = await egressFetch(input, init);
            if (response.status === 401 || response.status === 403) onChallenge(response);
            return response;
          }
        : egressFetch,
    ),
  });
  guards.install(transport);
  const client = new Client(
    { name: 'switchboard', version: SWITCHBOARD_VERSION },
    {
      capabilities: options.forClient?.capabilities ?? {},
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: options.timeoutMs, maxRetries: 0 } },
      jsonSchemaValidator: passThroughValidator,
      ...(options.forClient ? { supportedProtocolVersions: versionsOffering(options.forClient.protocolVersion) } : {}),
    },
  );
  client.onerror = (error) => options.onError?.(error);
  const tools = createToolListCache(options.toolListTtlMs);
  // Heard on the session's stream (the GET the SDK opens after initialize) or inside a reply.
  client.setNotificationHandler('notifications/tools/list_changed', () => tools.invalidate());
  try {
    await client.connect(transport, { timeout: options.timeoutMs, ...(options.prior ? { prior: options.prior } : {}) });
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
  const era: ProtocolEra = client.getProtocolEra() === 'modern' ? 'stateless-2026' : 'sessions-2025';
  const identity: UpstreamIdentity = {
    protocolVersion: client.getNegotiatedProtocolVersion() ?? transport.protocolVersion ?? '2025-03-26',
    capabilities: client.getServerCapabilities() ?? {},
    serverInfo: client.getServerVersion(),
    instructions: client.getInstructions(),
  };
  let closed = false;
  return {
    url: options.url,
    era,
    protocolVersion: identity.protocolVersion,
    sessionId: transport.sessionId,
    identity,
    serverInfo: toServerInfo(identity.serverInfo),
    discover: client.getDiscoverResult(),
    client,
    egress: options.egress,
    tools,
    lastUsedAt: Date.now(),
    async close({ terminate }) {
      if (closed) return;
      closed = true;
      // Bounded: an upstream that hangs must not hold up a deletion or a shutdown.
      if (terminate && transport.sessionId) await withinMs(transport.terminateSession(), TERMINATE_TIMEOUT_MS);
      await withinMs(client.close(), TERMINATE_TIMEOUT_MS);
    },
  };
}

const TERMINATE_TIMEOUT_MS = 2_000;

/** The SDK's protocol versions, the client's own first when the SDK knows it (the legacy handshake offers the first). */
function versionsOffering(requested: string | undefined): string[] {
  const known = [...SUPPORTED_PROTOCOL_VERSIONS];
  if (!requested || !known.includes(requested)) return known;
  return [requested, ...known.filter((version) => version !== requested)];
}

/**
 * The SDK transport opens a standalone GET stream once initialized. On a client's own session
 * that stream is the client's to open, through the MCP endpoint: the SDK hears 405 (no stream
 * offered), which it takes quietly.
 */
function withoutStandaloneStream(fetch: SessionEgress['fetch']): SessionEgress['fetch'] {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const opensStream = (init?.method ?? 'GET').toUpperCase() === 'GET' && /text\/event-stream/i.test(new Headers(init?.headers).get('accept') ?? '');
    if (opensStream) return Promise.resolve(new Response(null, { status: 405, headers: { allow: 'POST, DELETE' } }));
    return fetch(input, init);
  }) as SessionEgress['fetch'];
}

function withinMs(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/** The fields of the upstream's self-description that a Connection shows. */
function toServerInfo(implementation: Implementation | undefined): ServerInfo | null {
  if (!implementation) return null;
  const { name, version, title, description, websiteUrl, icons } = implementation as Implementation & {
    description?: string;
  };
  return {
    name,
    version,
    ...(title !== undefined ? { title } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(websiteUrl !== undefined ? { websiteUrl } : {}),
    ...(icons !== undefined ? { icons: icons as ServerInfo['icons'] } : {}),
  };
}
