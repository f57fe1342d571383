import { InsufficientScopeError, SdkError, SdkErrorCode, SdkHttpError, extractWWWAuthenticateParams } from '@modelcontextprotocol/client';
import { ZodError } from 'zod';
import { unreachableHostMessage } from '../network/egress-policy.ts';
import { blockedCause, unreachableHostName } from '../network/guarded-dispatcher.ts';
import { AuthorizationRequiredError, type OAuthChallenge } from '../oauth/oauth-state.ts';
import { UpstreamReplyTooLargeError, replyFailureOf } from './reply-guards.ts';

/**
 * Why an upstream could not be reached or used, in words a developer can act on. Messages
 * name the host, never the query (where configuration secrets may sit), and never echo what
 * the upstream sent. Only an HTTP error while a connection is first opened names the path:
 * then the path is what is wrong, and the one reading the status is the one who gave it.
 */
export type UpstreamFailure =
  | { kind: 'auth_required' }
  | { kind: 'insufficient_scope'; challenge: OAuthChallenge }
  | { kind: 'session_lost' }
  | { kind: 'failed'; message: string; httpStatus?: number };

const TLS_CODES = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_|HOSTNAME_MISMATCH)/;

export function describeUpstreamFailure(error: unknown, url: URL, timeoutMs: number, when: { opening?: boolean } = {}): UpstreamFailure {
  const host = url.host;
  if (findCause(error, (e): e is AuthorizationRequiredError => e instanceof AuthorizationRequiredError)) return { kind: 'auth_required' };
  const scope = findCause(error, (e): e is InsufficientScopeError => e instanceof InsufficientScopeError);
  if (scope) {
    return {
      kind: 'insufficient_scope',
      challenge: { scope: scope.requiredScope, ...(scope.resourceMetadataUrl ? { resourceMetadataUrl: scope.resourceMetadataUrl.href } : {}) },
    };
  }
  // A name that does not resolve and one the egress guard refused after DNS read the same.
  const unreachable = unreachableHostName(error);
  if (unreachable !== undefined) return failed(unreachableHostMessage(unreachable || url.hostname));
  // The egress guard refused an IP address: its message names it and the allowlist.
  const blocked = blockedCause(error);
  if (blocked) return failed(blocked.message);
  const replyFailure = replyFailureOf(error);
  if (replyFailure?.kind === 'too_large') return failed(`${host} sent a reply larger than this server accepts (${formatBytes(replyFailure.limitBytes)})`);
  if (replyFailure?.kind === 'broken') return failed(`${host} closed the connection before answering`);
  if (replyFailure?.kind === 'unanswered') return failed(`${host} ended its event stream without answering`);
  const http = findCause(error, (e): e is SdkHttpError => e instanceof SdkHttpError);
  if (http) {
    if (http.status === 401) return { kind: 'auth_required' };
    // No session exists yet while opening: a 404 there means a wrong path, not a lost session.
    if (when.opening) return { kind: 'failed', httpStatus: http.status, message: describeHttpStatusAt(http.status, host, url.pathname) };
    if (isSessionLoss(http.status, String((http.data as { text?: unknown } | undefined)?.text ?? ''))) return { kind: 'session_lost' };
    return { kind: 'failed', httpStatus: http.status, message: describeHttpStatus(http.status, host) };
  }
  const code = findCause(error, (e): e is Error & { code: string } => typeof (e as { code?: unknown })?.code === 'string' && !(e instanceof SdkError))?.code;
  if (code === 'ECONNREFUSED') return failed(`Connection refused by ${host}: no server is listening there`);
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return failed(`The host ${host} is unreachable from this server`);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return failed(`${host} closed the connection unexpectedly`);
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return failed(`Could not connect to ${host} in time`);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return failed(`${host} did not answer within ${Math.round(timeoutMs / 100) / 10} s`);
  if (code && TLS_CODES.test(code)) return failed(`TLS error talking to ${host}: ${code}`);
  if (code === 'UPSTREAM_TOO_LARGE') {
    const limit = findCause(error, (e): e is UpstreamReplyTooLargeError => e instanceof UpstreamReplyTooLargeError)?.limitBytes;
    return failed(`${host} sent a reply larger than this server accepts${limit ? ` (${formatBytes(limit)})` : ''}`);
  }
  const sdk = findCause(error, (e): e is SdkError => e instanceof SdkError && e.code !== SdkErrorCode.EraNegotiationFailed);
  // The session was closed under a call in flight (another caller renewed it): a fresh one may serve.
  if (sdk?.code === SdkErrorCode.ConnectionClosed) return { kind: 'session_lost' };
  if (sdk?.code === SdkErrorCode.RequestTimeout || isAbortTimeout(error)) {
    return failed(`${host} did not answer within ${Math.round(timeoutMs / 100) / 10} s`);
  }
  if (sdk?.code === SdkErrorCode.ClientHttpUnexpectedContent) return failed(`${host} did not answer as an MCP server (${sdk.message})`);
  if (findCause(error, (e): e is ZodError => e instanceof ZodError) || error instanceof SyntaxError) {
    return failed(`${host} answered with something that is not an MCP (JSON-RPC) message`);
  }
  if (sdk) return failed(`${host}: ${sdk.message}`);
  return failed(`Could not talk to ${host}: ${error instanceof Error ? error.message : String(error)}`);
}

/** What a 401/403 says about the upstream's OAuth: where its metadata is, which scope it wants. */
export function challengeOf(response: Response): OAuthChallenge & { error?: string } {
  const params = extractWWWAuthenticateParams(response);
  return {
    ...(params.resourceMetadataUrl ? { resourceMetadataUrl: params.resourceMetadataUrl.href } : {}),
    ...(params.scope ? { scope: params.scope } : {}),
    ...(params.error ? { error: params.error } : {}),
  };
}

/**
 * An upstream that forgot our session: 404 by the spec, and the 400 "No valid session ID"
 * that servers built on Express routers send instead.
 */
export function isSessionLoss(status: number, body: string | undefined): boolean {
  if (status === 404) return true;
  return status === 400 && /session/i.test(body ?? '');
}

function describeHttpStatus(status: number, host: string): string {
  if (status === 403) return `${host} refused access (HTTP 403): the credentials do not allow this`;
  if (status === 404 || status === 405) return `${host} did not answer as an MCP server (HTTP ${status}): check the URL`;
  if (status >= 500) return `${host} failed with HTTP ${status}`;
  return `${host} answered HTTP ${status}`;
}

function describeHttpStatusAt(status: number, host: string, path: string): string {
  const at = `HTTP ${status} at ${path}`;
  if (status === 403) return `${host} refused access (${at}): the credentials do not allow this`;
  if (status === 404 || status === 405) return `${host} answered ${at}: check the server's MCP path`;
  if (status >= 500) return `${host} failed with ${at}`;
  return `${host} answered ${at}`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB` : `${Math.round(bytes / 1024)} KB`;
}

function failed(message: string): UpstreamFailure {
  return { kind: 'failed', message };
}

function isAbortTimeout(error: unknown): boolean {
  return findCause(error, (e): e is Error => e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) !== undefined;
}

function findCause<T>(error: unknown, match: (e: unknown) => e is T): T | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    if (match(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
