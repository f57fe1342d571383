import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../api/context.ts';
import { appErrorFromUnknown } from '../api/error-mapping.ts';
import { parseStoredStatus } from '../core/connections/connection-status.ts';
import { reprobeConnection } from '../core/connections/connections.ts';
import { returnUrlWithOutcome } from '../core/oauth/return-urls.ts';
import { checkSubmission } from '../core/setup/setup-form.ts';
import { createSetupFormTokens } from '../core/setup/setup-form-tokens.ts';
import { saveSetupInput } from '../core/setup/setup-input.ts';
import { invalidSetupLink, openSetupLink, setupFormFieldsOf, type SetupVisit } from '../core/setup/setup-visit.ts';
import { AppError, httpStatusByErrorCode, type AppErrorCode } from '../errors.ts';
import { readBody, UNAUTHENTICATED_BODY_BYTES } from '../wire/body.ts';
import { redirectPrivately, refuseCrossSitePost, sendHtml } from './html-response.ts';
import { authPage, donePage, escapeHtml, inputPage, messagePage, unavailablePage, type InputPageModel } from './setup-html.ts';

/**
 * The setup pages behind a connection's `setupUrl` (`/setup/{link}`): no API key, the signed
 * link is the credential. GET shows what the connection needs now (a form for its
 * configuration, the authorization step, or that it is done); POST takes the form. The link
 * never reaches a log line (the route is logged as a template) nor another site (no referrer,
 * no caching, no framing).
 */
export const SETUP_ROUTE = '/setup/{link}';

export async function handleSetupPage(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, pathname: string): Promise<string> {
  try {
    const segment = /^\/setup\/([^/]+)$/.exec(pathname)?.[1];
    if (segment === undefined) throw invalidSetupLink();
    if (req.method === 'GET' || req.method === 'HEAD') await show(res, ctx, await openSetupLink(ctx, segment, returnUrlAsked(req)));
    else if (req.method === 'POST') await submit(req, res, ctx, segment);
    else {
      res.setHeader('allow', 'GET, HEAD, POST');
      sendHtml(res, 405, messagePage('Not allowed', 'Open this page in a browser.'));
    }
  } catch (error) {
    const appError = appErrorFromUnknown(error);
    // A refusal before the body was read closes the connection (see http/pending-body.ts).
    if (appError.code === 'internal_error') ctx.logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'setup page failed');
    sendHtml(res, httpStatusByErrorCode[appError.code], messagePage(titleByCode[appError.code] ?? 'Something went wrong', appError.message));
  }
  return SETUP_ROUTE;
}

function returnUrlAsked(req: IncomingMessage): string | null {
  return new URL(req.url ?? '/', 'http://switchboard.invalid').searchParams.get('returnUrl');
}

const titleByCode: Partial<Record<AppErrorCode, string>> = {
  not_found: 'This link does not work',
  validation_error: 'Cannot continue',
  forbidden: 'Not allowed',
  unsupported_media_type: 'Not accepted',
  payload_too_large: 'Too much data',
  request_timeout: 'The form took too long to arrive',
  bad_gateway: 'The server did not answer as expected',
  service_unavailable: 'Try again in a moment',
};

async function show(res: ServerResponse, ctx: RequestContext, page: SetupVisit): Promise<void> {
  const { connection: row } = page;
  const status = parseStoredStatus(row.status);
  const host = new URL(row.mcp_url).host;
  const formTokens = createSetupFormTokens(ctx.keyring);
  switch (status.state) {
    case 'input_required':
      return sendHtml(res, 200, inputPage({ ...inputModel(ctx, row), formToken: formTokens.issue(page.token, row.revision) }));
    case 'auth_required': {
      // This page hands out a fresh authorization link: a setup link older than one would
      // otherwise stretch the authorization link's lifetime to its own (a day by default).
      if (Date.now() - page.mintedAt > ctx.config.oauthLinkTtlSeconds * 1000) {
        return sendHtml(res, 410, messagePage('This link has expired', 'This link has expired. Go back to the app that sent you here and ask it for a new one.'));
      }
      const authorizationUrl = ctx.links.urlFor({ namespace: row.namespace, id: row.id, revision: row.revision, createdAt: row.created_at });
      const returnOrigin = page.returnUrl ? new URL(page.returnUrl).origin : undefined;
      return sendHtml(res, 200, authPage({ connectionName: row.name, host, authorizationUrl, returnUrl: page.explicitReturnUrl, returnOrigin }));
    }
    case 'connected':
      return sendHtml(res, 200, donePage(row.name, host, page.returnUrl && returnUrlWithOutcome(page.returnUrl, { connectionId: row.id, status: 'connected' })));
    default: {
      const message = status.state === 'error' ? status.message : `${host} has not been reached yet.`;
      return sendHtml(res, 200, unavailablePage(row.name, message, formTokens.issue(page.token, row.revision)));
    }
  }
}

function inputModel(ctx: RequestContext, connection: SetupVisit['connection']): Omit<InputPageModel, 'formToken'> {
  return { connectionName: connection.name, host: new URL(connection.mcp_url).host, fields: setupFormFieldsOf(ctx.keyring, connection) };
}

async function submit(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, segment: string): Promise<void> {
  refuseCrossSitePost(req, ctx.config.publicUrl, 'This form can only be sent from its own setup page.');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new AppError('unsupported_media_type', 'This page only accepts its own form.');
  // The link is the credential: checked before the body is waited for, which then gets little time.
  const page = await openSetupLink(ctx, segment, returnUrlAsked(req));
  const body = await readBody(req, Math.min(UNAUTHENTICATED_BODY_BYTES, ctx.config.maxBodyBytes), { timeoutMs: ctx.config.unauthenticatedBodyTimeoutMs });
  const form = new URLSearchParams(body.toString('utf8'));
  const { connection: row } = page;
  const formTokens = createSetupFormTokens(ctx.keyring);
  const check = formTokens.check(form.get('formToken'), page.token, row.revision);
  const state = parseStoredStatus(row.status).state;
  if (!check.ok && check.reason !== 'stale') {
    sendHtml(
      res,
      403,
      messagePage('This form cannot be used', 'The form has expired or did not come from this setup page. Open the page again and resubmit.', `<p><a class="button" href="${escapeHtml(page.selfUrl)}">Open the setup page again</a></p>`),
    );
    return;
  }
  if (form.get('action') === 'recheck') {
    await reprobeConnection(ctx, row);
    return redirect(res, page.selfUrl);
  }
  if (state !== 'input_required') return redirect(res, page.selfUrl);
  const model = inputModel(ctx, row);
  const freshToken = formTokens.issue(page.token, row.revision);
  const checked = checkSubmission(model.fields, form);
  if (!check.ok) {
    const notice = 'The connection changed while this page was open. Check the values and submit again.';
    return sendHtml(res, 409, inputPage({ ...model, formToken: freshToken, notice, values: checked.ok ? undefined : checked.values }));
  }
  if (!checked.ok) return sendHtml(res, 400, inputPage({ ...model, formToken: freshToken, errors: checked.errors, values: checked.values }));
  let outcome;
  try {
    outcome = await saveSetupInput(ctx, { namespace: row.namespace, id: row.id, revision: row.revision, createdAt: row.created_at.getTime() }, checked.submission);
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'validation_error') throw error;
    return sendHtml(res, 400, inputPage({ ...model, formToken: freshToken, formError: error.message }));
  }
  if (outcome.kind === 'changed') return redirect(res, page.selfUrl);
  const status = outcome.connection.status;
  if (status.state === 'connected' && page.returnUrl) return redirect(res, returnUrlWithOutcome(page.returnUrl, { connectionId: row.id, status: 'connected' }));
  if (status.state === 'auth_required' && status.authorizationUrl) {
    // Straight on into the OAuth flow, through the same authorization link the API shows.
    const returnQuery = page.explicitReturnUrl ? `?returnUrl=${encodeURIComponent(page.explicitReturnUrl)}` : '';
    return redirect(res, `${status.authorizationUrl}${returnQuery}`);
  }
  return redirect(res, page.selfUrl);
}

function redirect(res: ServerResponse, location: string): void {
  redirectPrivately(res, 303, location);
}
