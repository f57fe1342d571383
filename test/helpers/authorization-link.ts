import { pageText } from './oauth-upstream.ts';

/**
 * Plays the end user's browser at a Switchboard authorization link with fetch: opens the link
 * (the interstitial, which sets the browser cookie), continues it (the form's POST), and keeps
 * the cookie per `state` so that `deliverCallback` brings the authorization server's answer
 * back with it, as the same browser would.
 */
const cookieByState = new Map<string, string>();

export function withReturnUrl(link: string, returnUrl?: string): string {
  return returnUrl === undefined ? link : `${link}?returnUrl=${encodeURIComponent(returnUrl)}`;
}

export type Interstitial = { response: Response; html: string; cookie: string | undefined; fields: URLSearchParams };

/** GET of the link: the interstitial page, its browser cookie and its form's fields. */
export async function openInterstitial(link: string, options: { returnUrl?: string; cookie?: string } = {}): Promise<Interstitial> {
  const response = await fetch(withReturnUrl(link, options.returnUrl), { redirect: 'manual', headers: options.cookie ? { cookie: options.cookie } : {} });
  const html = await response.text();
  const cookie = response.headers.getSetCookie().map((line) => line.split(';')[0]!)[0] ?? options.cookie;
  const fields = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields.set(name!, decodeEntities(value!));
  return { response, html, cookie, fields };
}

/** POST of the interstitial's form, as its own page sends it. */
export function submitInterstitial(link: string, page: Pick<Interstitial, 'cookie' | 'fields'>, returnUrl?: string): Promise<Response> {
  return fetch(withReturnUrl(link, returnUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(page.cookie ? { cookie: page.cookie } : {}) },
    body: page.fields,
  });
}

/** Link → interstitial → continue: the authorization server's URL the browser is sent to (its `state` inside). */
export async function startAuthorizationWithFetch(link: string, returnUrl?: string): Promise<URL> {
  const page = await openInterstitial(link, { returnUrl });
  if (page.response.status !== 200) throw new Error(`the authorization link answered ${page.response.status}: ${pageText(page.html)}`);
  const continued = await submitInterstitial(link, page, returnUrl);
  const location = continued.headers.get('location');
  if (continued.status !== 303 || !location) throw new Error(`continuing the authorization link answered ${continued.status}: ${pageText(await continued.text())}`);
  const url = new URL(location);
  const state = url.searchParams.get('state');
  if (state && page.cookie) cookieByState.set(state, page.cookie);
  return url;
}

/** The authorization server's answer, delivered by the browser that continued the link (its cookie). */
export function deliverCallback(callback: URL | string): Promise<Response> {
  const state = new URL(callback).searchParams.get('state');
  const cookie = state ? cookieByState.get(state) : undefined;
  return fetch(callback, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}

function decodeEntities(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

/** Link → interstitial → continue, whatever it answers (a redirect, or a page saying why not). */
export async function continueAuthorizationLink(link: string): Promise<Response> {
  return submitInterstitial(link, await openInterstitial(link));
}
