import { escapeHtml, renderPage } from './setup-html.ts';

/**
 * The interstitial an authorization link opens: before the browser goes to the upstream's
 * sign-in, the end user sees, in plain words, which app (its namespace and connection) asks
 * to act as them and where (the upstream's host), and chooses to continue. It is a form post:
 * nothing starts from a mere visit (a link preview, an `<img>`).
 */
export type InterstitialModel = {
  namespace: string;
  connectionName: string;
  host: string;
  continueToken: string;
  returnUrl?: string;
  /** Where the browser comes back to after signing in (an app's origin), if not here. */
  returnOrigin?: string;
  /** The app asked to replace the account a connected connection uses. */
  reauthorization: boolean;
};

export function interstitialPage(model: InterstitialModel): string {
  const host = escapeHtml(model.host);
  const returnField = model.returnUrl ? `<input type="hidden" name="returnUrl" value="${escapeHtml(model.returnUrl)}">` : '';
  const after = model.returnOrigin ? `then back to <strong>${escapeHtml(model.returnOrigin)}</strong>` : 'then back here';
  const replaces = model.reauthorization ? '<p>This connection is already signed in: continuing replaces the account it uses now.</p>' : '';
  return renderPage(
    `Connect ${model.host}`,
    `<h1>Let an app use your ${host} account?</h1>
<p class="lead">An app wants to act on <strong>${host}</strong> as the account you sign in with.</p>
<div class="notice"><p>App (namespace): <strong>${escapeHtml(model.namespace)}</strong><br>Connection: <strong>${escapeHtml(model.connectionName)}</strong><br>Server: <strong>${host}</strong></p></div>
${replaces}<p>Continue only if you came here from that app, just now, and you trust it. You will sign in at ${host}, ${after}. Switchboard keeps the access you grant for this connection only; it never sees your password.</p>
<form method="post"><input type="hidden" name="continue" value="${escapeHtml(model.continueToken)}">${returnField}<button type="submit">Continue to ${host}</button></form>`,
  );
}
