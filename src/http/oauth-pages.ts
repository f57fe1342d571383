import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../api/context.ts';
import { appErrorFromUnknown } from '../api/error-mapping.ts';
import { reprobeConnection } from '../core/connections/connections.ts';
import { callbackUrl, clientMetadataDocumentUrl, completeAuthorization, continueAuthorization, FLOW_TTL_MS } from '../core/oauth/authorization-flow.ts';
import { createBrowserCookies, createContinueTokens, newBrowserSecret } from '../core/oauth/browser-binding.ts';
import { clientMetadataFor } from '../core/oauth/flow-provider.ts';
import { admitAuthorizationLink, type LinkRefusal } from '../core/oauth/link-admission.ts';
import { checkReturnUrl, returnUrlWithOutcome } from '../core/oauth/return-urls.ts';
import { AppError, httpStatusByErrorCode, type AppErrorCode } from '../errors.ts';
import { readBody } from '../wire/body.ts';
import { redirectPrivately, refuseCrossSitePost, sendHtml } from './html-response.ts';
import { interstitialPage } from './oauth-html.ts';
import { sendJson } from '../wire/respond.ts';
import { messagePage } from './setup-html.ts';

/**
 * The browser-facing side of upstream OAuth: the authorization link an app hands its end
 * user (`/oauth/authorize/{link}`: GET shows the interstitial, its POST starts the flow), the
 * callback the authorization server sends the user back to, and the Client ID Metadata
 * Document. Answers are redirects or pages from the one page template, with the strict headers.
 */
const AUTHORIZE_ROUTE = '/oauth/authorize/{link}';
/** The browser's secret (browser-binding.ts), signed by Switchboard; on https the name gets the `__Host-` prefix. */
const BROWSER_COOKIE = 'switchboard_oauth';
const MAX_FORM_BYTES = 8 * 1024;

export async function handleOAuthPage(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, pathname: string): Promise<string | undefined> {
  const authorize = /^\/oauth\/authorize\/([^/]+)$/.exec(pathname);
  if (pathname !== '/oauth/client-metadata.json' && pathname !== '/oauth/callback' && !authorize) return undefined;
  const route = authorize ? AUTHORIZE_ROUTE : pathname;
  const allowed = authorize ? ['GET', 'HEAD', 'POST'] : ['GET'];
  // A callback acts on GET alone (a HEAD from a link previewer must not complete anything).
  if (!allowed.includes(req.method ?? '')) {
    res.setHeader('allow', allowed.join(', '));
    sendHtml(res, 405, messagePage('Not allowed', 'Open this page in a browser.'));
    return route;
  }
  if (pathname === '/oauth/client-metadata.json') {
    const documentUrl = clientMetadataDocumentUrl(ctx.config.publicUrl);
    if (!documentUrl) sendHtml(res, 404, messagePage('Not available', 'A Client ID Metadata Document is served only when PUBLIC_URL is https.'));
    else sendJson(res, 200, { ...clientMetadataFor(callbackUrl(ctx.config.publicUrl), documentUrl), client_uri: ctx.config.publicUrl });
    return route;
  }
  try {
    if (!authorize) await answerCallback(req, res, ctx);
    else if (req.method === 'POST') await continueLink(req, res, ctx, decodeLink(authorize[1]!));
    else await showInterstitial(req, res, ctx, decodeLink(authorize[1]!));
  } catch (error) {
    sendErrorPage(res, ctx, error, authorize ? 'Could not start the authorization' : 'The authorization could not be completed');
  }
  return route;
}

/** Shows who asks for what; spends nothing. The browser gets its secret here, for the post. */
async function showInterstitial(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, link: string): Promise<void> {
  const admission = await admitAuthorizationLink(ctx, link);
  if (!admission.ok) return sendRefusal(res, ctx, admission.reason);
  const asked = new URL(req.url ?? '/', 'http://switchboard.invalid').searchParams.get('returnUrl') ?? undefined;
  const returnUrl = asked === undefined ? undefined : checkReturnUrl(asked, ctx.config.oauthReturnOrigins);
  const shownReturn = returnUrl ?? storedReturnUrl(admission.row.oauth_return_url, ctx.config.oauthReturnOrigins);
  const secret = browserSecretOf(req, ctx) ?? newBrowserSecret();
  setBrowserCookie(res, ctx, secret);
  const page = interstitialPage({
    namespace: admission.row.namespace,
    connectionName: admission.row.name,
    host: new URL(admission.row.mcp_url).host,
    continueToken: createContinueTokens(ctx.keyring).issue(link, secret, ctx.config.oauthLinkTtlSeconds),
    returnUrl,
    returnOrigin: shownReturn && new URL(shownReturn).origin,
    reauthorization: admission.link.reauthorize,
  });
  sendHtml(res, 200, page);
}

/** The interstitial's button: only from its own page, in the browser it was shown in. */
async function continueLink(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, link: string): Promise<void> {
  refuseCrossSitePost(req, ctx.config.publicUrl, 'This authorization can only be continued from its own page.');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new AppError('unsupported_media_type', 'This page only accepts its own form.');
  // The link and the browser's cookie are the credentials: both are checked before the body is
  // waited for, which then gets the short time of a request without a credential.
  const verified = ctx.links.verify(link);
  if (!verified.ok) return sendRefusal(res, ctx, verified.reason);
  const secret = browserSecretOf(req, ctx);
  if (!secret) throw otherBrowser();
  const body = await readBody(req, Math.min(MAX_FORM_BYTES, ctx.config.maxBodyBytes), { timeoutMs: ctx.config.unauthenticatedBodyTimeoutMs });
  const form = new URLSearchParams(body.toString('utf8'));
  if (!createContinueTokens(ctx.keyring).check(form.get('continue'), link, secret)) throw otherBrowser();
  const outcome = await continueAuthorization(oauthServices(ctx), link, { returnUrl: form.get('returnUrl') || undefined, browserSecret: secret });
  if (!outcome.ok) return sendRefusal(res, ctx, outcome.reason);
  setBrowserCookie(res, ctx, secret);
  redirectPrivately(res, 303, outcome.location);
}

function otherBrowser(): AppError {
  return new AppError('forbidden', 'This page has expired or was opened in another browser. Open the link from the app again, in this browser, and continue from there.');
}

async function answerCallback(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  const params = new URL(req.url ?? '/', 'http://switchboard.invalid').searchParams;
  const outcome = await completeAuthorization(oauthServices(ctx), params, browserSecretOf(req, ctx));
  const status = outcome.kind === 'connected' ? 'connected' : 'denied';
  if (outcome.returnUrl) {
    redirectPrivately(res, 302, returnUrlWithOutcome(outcome.returnUrl, { connectionId: outcome.ref.id, status }));
  } else if (outcome.kind === 'connected') {
    sendHtml(res, 200, messagePage('Connected', 'The connection is authorized. You can close this window and return to the app.'));
  } else {
    sendHtml(res, 200, messagePage('Not authorized', `The authorization was not granted (${outcome.error}). You can close this window and return to the app.`));
  }
}

/** Plain words for the end user; the same for a link forged or for a connection that is gone (a link never tells whether one exists). */
function sendRefusal(res: ServerResponse, ctx: RequestContext, reason: LinkRefusal): void {
  const minutes = Math.round(ctx.config.oauthLinkTtlSeconds / 60);
  const pages: Record<LinkRefusal, [number, string, string]> = {
    invalid: [404, 'This link does not work', 'This authorization link is not valid. Go back to the app that sent you here and ask for a new one.'],
    changed: [404, 'This link does not work', 'This authorization link is not valid. Go back to the app that sent you here and ask for a new one.'],
    expired: [
      410,
      'This link has expired',
      `Authorization links work for ${minutes === 1 ? 'a minute' : `${minutes} minutes`}. Nothing was changed. Go back to the app that sent you here and ask for a new one.`,
    ],
    spent: [
      410,
      'This link was already used',
      'An authorization link works only once, and a newer link replaces older ones. Nothing was changed. Go back to the app that sent you here and ask for a new one.',
    ],
    connected: [
      409,
      'Already connected',
      'This connection is already authorized. Nothing was changed. To sign in with another account, the app has to ask for a new authorization link.',
    ],
  };
  const [status, title, message] = pages[reason];
  sendHtml(res, status, messagePage(title, message));
}

const titleByCode: Partial<Record<AppErrorCode, string>> = {
  forbidden: 'This page cannot continue',
  conflict: 'Nothing was changed',
  request_timeout: 'The page took too long to send',
};

function sendErrorPage(res: ServerResponse, ctx: RequestContext, error: unknown, title: string): void {
  const appError = appErrorFromUnknown(error);
  if (appError.code === 'internal_error') ctx.logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'oauth page failed');
  sendHtml(res, httpStatusByErrorCode[appError.code], messagePage(titleByCode[appError.code] ?? title, appError.message));
}

/** A link with broken percent-encoding (`%ZZ`, a lone surrogate) is one we never issued. */
function decodeLink(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError('validation_error', 'This authorization link is malformed: open the link exactly as the app gave it');
  }
}

function storedReturnUrl(returnUrl: string | null, origins: readonly string[]): string | undefined {
  try {
    return returnUrl ? checkReturnUrl(returnUrl, origins) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The secret of the one browser cookie Switchboard signed. Two values under its name mean one
 * was planted (a sibling subdomain's Domain cookie, a narrower Path): which one is ours cannot
 * be told, so neither counts (a callback is then refused as from another browser).
 */
function browserSecretOf(req: IncomingMessage, ctx: RequestContext): string | undefined {
  const name = browserCookieName(ctx);
  const values: string[] = [];
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) values.push(pair.slice(at + 1).trim());
  }
  return values.length === 1 ? createBrowserCookies(ctx.keyring).open(values[0]!) : undefined;
}

/**
 * On https `__Host-`: browsers accept that name only from this host, over https, without Domain
 * and with Path=/, so neither a sibling subdomain nor a network attacker can plant one. Over
 * http (development only) nothing stops them.
 */
function browserCookieName(ctx: RequestContext): string {
  return isHttps(ctx) ? `__Host-${BROWSER_COOKIE}` : BROWSER_COOKIE;
}

const isHttps = (ctx: RequestContext) => ctx.config.publicUrl.startsWith('https://');

/**
 * HttpOnly (no script reads it), SameSite=Lax (the callback is a top-level navigation from the
 * authorization server's site: Strict would leave it behind); on https Secure with Path=/ (the
 * `__Host-` prefix asks for both), over http only for /oauth.
 */
function setBrowserCookie(res: ServerResponse, ctx: RequestContext, secret: string): void {
  // One secret serves every tab of the browser: it outlives a link shown now and the flow continued last.
  const maxAgeSeconds = ctx.config.oauthLinkTtlSeconds + Math.ceil(FLOW_TTL_MS / 1000);
  const value = createBrowserCookies(ctx.keyring).seal(secret, maxAgeSeconds);
  const scope = isHttps(ctx) ? 'Path=/; Secure' : 'Path=/oauth';
  res.setHeader('set-cookie', `${browserCookieName(ctx)}=${value}; ${scope}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax`);
}

function oauthServices(ctx: RequestContext) {
  return { ...ctx, reprobe: (ref: { namespace: string; id: string; incarnation: string }) => reprobeConnection(ctx, ref) };
}
