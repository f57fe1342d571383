import { createHash } from 'node:crypto';
import type { FormField } from '../core/setup/setup-form.ts';

/**
 * The setup pages' HTML: server-rendered, no script at all, one inline stylesheet allowed by
 * its hash. Every piece of text from outside (the schema's titles and descriptions, the
 * connection's name, messages) goes through `escapeHtml`.
 */
const STYLE = `
:root{color-scheme:light;--ink:#1d2330;--muted:#5b6475;--line:#d8dde6;--accent:#2450d8;--danger:#b42318;--bg:#f4f6fa}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:34rem;margin:3rem auto;padding:2rem 2rem 1.5rem;background:#fff;border:1px solid var(--line);border-radius:12px;box-shadow:0 1px 3px rgba(20,30,60,.06)}
.brand{margin:0 0 1rem;font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
h1{font-size:1.45rem;line-height:1.25;margin:0 0 .5rem}
p{margin:.5rem 0}
.lead{color:var(--muted)}
code{font:.85em ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef1f6;padding:.05em .3em;border-radius:4px}
.field{margin:1.25rem 0}
label{display:block;font-weight:600}
.req{color:var(--danger);margin-left:.15rem}
.hint,.where{margin:.15rem 0 .35rem;color:var(--muted);font-size:.9rem}
.where{margin-top:.3rem;font-size:.8rem}
input[type=text],input[type=password],input[type=number],select{width:100%;padding:.55rem .65rem;font:inherit;border:1px solid #b9c1cf;border-radius:8px;background:#fff}
input:focus,select:focus,button:focus,a:focus{outline:3px solid rgba(36,80,216,.35);outline-offset:1px}
.check{display:flex;gap:.5rem;align-items:center;font-weight:600}
.invalid input,.invalid select{border-color:var(--danger)}
.error{color:var(--danger);font-weight:600;font-size:.9rem;margin:.2rem 0}
.summary{border:1px solid var(--danger);background:#fff5f4;border-radius:8px;padding:.6rem .9rem;margin:1rem 0}
.notice{border:1px solid var(--line);background:#f7f9fc;border-radius:8px;padding:.6rem .9rem;margin:1rem 0}
button,.button{display:inline-block;margin-top:.75rem;padding:.65rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:var(--accent);border:0;border-radius:8px;cursor:pointer;text-decoration:none}
.secondary{background:#fff;color:var(--accent);border:1px solid var(--accent)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
footer{margin-top:1.5rem;color:var(--muted);font-size:.8rem}
`;

/**
 * No script, nothing loaded, no framing: only this stylesheet, by its hash. `form-action` is
 * left out on purpose: browsers apply it to the redirects that follow a post too (into the
 * authorization server, back to the app), whose origins are only known then.
 */
export const SETUP_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; frame-ancestors 'none'`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function renderPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Switchboard</title><style>${STYLE}</style></head>
<body><main><p class="brand">Switchboard · connection setup</p>
${body}
<footer>This page is private to you: do not share its address.</footer></main></body></html>`;
}

export function messagePage(title: string, message: string, extra = ''): string {
  return renderPage(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${extra}`);
}

export type InputPageModel = {
  connectionName: string;
  host: string;
  fields: readonly FormField[];
  formToken: string;
  errors?: Record<string, string>;
  /** Values entered before (never secrets), to show again next to their errors. */
  values?: Record<string, string>;
  notice?: string;
  formError?: string;
};

export function inputPage(model: InputPageModel): string {
  const errors = model.errors ?? {};
  const errorCount = Object.keys(errors).length;
  const summary =
    errorCount > 0 || model.formError
      ? `<div class="summary" role="alert"><p><strong>${escapeHtml(model.formError ?? `Please correct ${errorCount === 1 ? 'the field' : `the ${errorCount} fields`} marked below.`)}</strong></p></div>`
      : '';
  const notice = model.notice ? `<div class="notice" role="status"><p>${escapeHtml(model.notice)}</p></div>` : '';
  const fields = model.fields.map((field, index) => renderField(field, `f${index}`, errors[field.key], model.values?.[field.key])).join('\n');
  return renderPage(
    `Set up ${model.connectionName}`,
    `<h1>Set up “${escapeHtml(model.connectionName)}”</h1>
<p class="lead">The server at <strong>${escapeHtml(model.host)}</strong> needs a few details before it can be used. Fields marked <span class="req" aria-hidden="true">*</span><span class="visually-hidden">with an asterisk</span> are required.</p>
${notice}${summary}
<form method="post" novalidate>
<input type="hidden" name="formToken" value="${escapeHtml(model.formToken)}">
${fields}
<button type="submit">Save and continue</button>
</form>`,
  );
}

function renderField(field: FormField, id: string, error: string | undefined, entered: string | undefined): string {
  const described = [field.description ? `${id}-hint` : '', field.secret && field.stored ? `${id}-kept` : '', error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  const aria = `${described ? ` aria-describedby="${described}"` : ''}${error ? ' aria-invalid="true"' : ''}${field.required ? ' required aria-required="true"' : ''}`;
  const required = field.required ? '<span class="req" aria-hidden="true">*</span><span class="visually-hidden"> (required)</span>' : '';
  const hint = field.description ? `<p class="hint" id="${id}-hint">${escapeHtml(field.description)}</p>` : '';
  const kept = field.secret && field.stored ? `<p class="hint" id="${id}-kept">A value is already stored. Leave this blank to keep it.</p>` : '';
  const errorLine = error ? `<p class="error" id="${id}-error">${escapeHtml(error)}</p>` : '';
  const where = `<p class="where">Sent as ${field.place === 'header' ? 'header' : 'query parameter'} <code>${escapeHtml(field.name)}</code></p>`;
  const name = escapeHtml(field.key);
  // A secret is never written back into the page, not even after a failed submission.
  const value = field.secret ? '' : (entered ?? field.value ?? '');
  if (field.type === 'boolean') {
    const checked = value === 'true' ? ' checked' : '';
    return `<div class="field${error ? ' invalid' : ''}"><label class="check" for="${id}"><input type="checkbox" id="${id}" name="${name}" value="true"${checked}${aria}> ${escapeHtml(field.label)}${required}</label>${hint}${errorLine}${where}</div>`;
  }
  let control: string;
  if (field.options && !field.secret) {
    const options = [field.required ? '' : '<option value="">(default)</option>', ...field.options.map((option) => `<option value="${escapeHtml(option)}"${option === value ? ' selected' : ''}>${escapeHtml(option)}</option>`)].join('');
    control = `<select id="${id}" name="${name}"${aria}>${options}</select>`;
  } else {
    const type = field.secret ? 'password' : field.type === 'number' || field.type === 'integer' ? 'number' : 'text';
    const step = field.type === 'number' ? ' step="any"' : '';
    control = `<input type="${type}" id="${id}" name="${name}" value="${escapeHtml(value)}"${step} autocomplete="off" spellcheck="false"${aria}>`;
  }
  return `<div class="field${error ? ' invalid' : ''}"><label for="${id}">${escapeHtml(field.label)}${required}</label>${hint}${kept}${errorLine}${control}${where}</div>`;
}

export type AuthPageModel = { connectionName: string; host: string; authorizationUrl: string; returnUrl?: string; returnOrigin?: string };

/** The authorization step: a plain GET form to Switchboard's authorization link (the existing flow). */
export function authPage(model: AuthPageModel): string {
  const [action, query] = splitQuery(model.authorizationUrl);
  const returnField = model.returnUrl ? `<input type="hidden" name="returnUrl" value="${escapeHtml(model.returnUrl)}">` : '';
  const carried = [...new URLSearchParams(query)].map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
  const after = model.returnOrigin ? `then back to <strong>${escapeHtml(model.returnOrigin)}</strong>` : 'then back here';
  return renderPage(
    `Authorize ${model.connectionName}`,
    `<h1>Authorize “${escapeHtml(model.connectionName)}”</h1>
<p class="lead">The server at <strong>${escapeHtml(model.host)}</strong> asks you to sign in and allow access before it can be used.</p>
<p>You will go to its sign-in page, ${after}. Switchboard keeps the access it grants for this connection only; nobody sees your password.</p>
<form method="get" action="${escapeHtml(action)}">${carried}${returnField}<button type="submit">Continue to ${escapeHtml(model.host)}</button></form>`,
  );
}

export function donePage(connectionName: string, host: string, returnLink?: string): string {
  const back = returnLink ? `<p><a class="button" href="${escapeHtml(returnLink)}">Return to the app</a></p>` : '<p>You can close this window and return to the app.</p>';
  return renderPage(
    'Connected',
    `<h1>Connected</h1><p class="lead">“${escapeHtml(connectionName)}” is set up: <strong>${escapeHtml(host)}</strong> is ready to use.</p>${back}`,
  );
}

export function unavailablePage(connectionName: string, message: string, formToken: string): string {
  return renderPage(
    'Not available',
    `<h1>“${escapeHtml(connectionName)}” cannot be set up right now</h1><p>${escapeHtml(message)}</p>
<form method="post"><input type="hidden" name="formToken" value="${escapeHtml(formToken)}"><input type="hidden" name="action" value="recheck"><button type="submit" class="secondary">Try again</button></form>`,
  );
}

function splitQuery(url: string): [string, string] {
  const at = url.indexOf('?');
  return at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
}
