import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../api/context.ts';
import { appErrorFromUnknown } from '../api/error-mapping.ts';
import { reprobeConnection } from '../core/connections/connections.ts';
import { callbackUrl, clientMetadataDocumentUrl, completeAuthorization, startAuthorization } from '../core/oauth/authorization-flow.ts';
import { clientMetadataFor } from '../core/oauth/flow-provider.ts';
import { returnUrlWithOutcome } from '../core/oauth/return-urls.ts';
import { AppError, httpStatusByErrorCode } from '../errors.ts';
import { sendJson } from './respond.ts';

/**
 * The browser-facing side of upstream OAuth: the authorization link an app hands its end
 * user (`/oauth/authorize/{link}`), the callback the authorization server sends the user back
 * to, and the Client ID Metadata Document. Answers are redirects or small HTML pages.
 */
export async function handleOAuthPage(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, pathname: string): Promise<string | undefined> {
  const isPage = pathname === '/oauth/client-metadata.json' || pathname === '/oauth/callback' || /^\/oauth\/authorize\/[^/]+$/.test(pathname);
  if (!isPage) return undefined;
  const url = new URL(req.url ?? '/', 'http://switchboard.invalid');
  // Only GET acts: opening a link or a callback has effects (a HEAD from a link previewer must not).
  if (req.method !== 'GET') {
    res.setHeader('allow', 'GET');
    sendPage(res, 405, 'Not allowed', 'This page is only ever opened in a browser (GET).');
    return pathname.startsWith('/oauth/authorize/') ? '/oauth/authorize/{link}' : pathname;
  }
  if (pathname === '/oauth/client-metadata.json') {
    const documentUrl = clientMetadataDocumentUrl(ctx.config.publicUrl);
    if (!documentUrl) {
      sendPage(res, 404, 'Not available', 'A Client ID Metadata Document is served only when PUBLIC_URL is https.');
    } else {
      sendJson(res, 200, { ...clientMetadataFor(callbackUrl(ctx.config.publicUrl), documentUrl), client_uri: ctx.config.publicUrl });
    }
    return '/oauth/client-metadata.json';
  }
  const authorize = /^\/oauth\/authorize\/([^/]+)$/.exec(pathname);
  if (authorize) {
    try {
      const returnUrl = url.searchParams.get('returnUrl') ?? undefined;
      redirect(res, await startAuthorization(oauthServices(ctx), decodeLink(authorize[1]!), returnUrl));
    } catch (error) {
      sendErrorPage(res, ctx, error, 'Could not start the authorization');
    }
    return '/oauth/authorize/{link}';
  }
  if (pathname === '/oauth/callback') {
    try {
      const outcome = await completeAuthorization(oauthServices(ctx), url.searchParams);
      const status = outcome.kind === 'connected' ? 'connected' : 'denied';
      if (outcome.returnUrl) {
        redirect(res, returnUrlWithOutcome(outcome.returnUrl, { connectionId: outcome.ref.id, status }));
      } else if (outcome.kind === 'connected') {
        sendPage(res, 200, 'Connected', 'The connection is authorized. You can close this window and return to the app.');
      } else {
        sendPage(res, 200, 'Not authorized', `The authorization was not granted (${outcome.error}). You can close this window and return to the app.`);
      }
    } catch (error) {
      sendErrorPage(res, ctx, error, 'The authorization could not be completed');
    }
    return '/oauth/callback';
  }
  return undefined;
}

/** A link with broken percent-encoding (`%ZZ`, a lone surrogate) is one we never issued. */
function decodeLink(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError('validation_error', 'This authorization link is malformed: open the link exactly as the app gave it');
  }
}

function oauthServices(ctx: RequestContext) {
  return { ...ctx, reprobe: (ref: { namespace: string; id: string }) => reprobeConnection(ctx, ref) };
}

function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 302;
  res.setHeader('location', location);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('referrer-policy', 'no-referrer');
  res.end();
}

function sendErrorPage(res: ServerResponse, ctx: RequestContext, error: unknown, title: string): void {
  const appError = appErrorFromUnknown(error);
  if (appError.code === 'internal_error') ctx.logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'oauth page failed');
  sendPage(res, httpStatusByErrorCode[appError.code], title, appError.message);
}

/** A minimal page: the text is escaped, nothing from the request is reflected unescaped. */
function sendPage(res: ServerResponse, status: number, title: string, message: string): void {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Switchboard</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
  res.setHeader('referrer-policy', 'no-referrer');
  res.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
