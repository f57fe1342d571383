import { AppError } from '../../errors.ts';

/**
 * Where the end user goes back to after authorizing: only to an origin the operator allowed
 * (OAUTH_RETURN_ORIGINS). Anything else is refused outright — never an open redirect.
 */
export function checkReturnUrl(raw: string, allowedOrigins: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('validation_error', 'returnUrl must be an absolute http(s) URL');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw new AppError('validation_error', 'returnUrl must be an absolute http(s) URL without credentials');
  }
  if (!allowedOrigins.includes(url.origin)) {
    throw new AppError('validation_error', `returnUrl ${url.origin} is not an allowed origin (the operator sets OAUTH_RETURN_ORIGINS)`);
  }
  return url.href;
}

/** The return URL with the outcome added, for the app to read. */
export function returnUrlWithOutcome(returnUrl: string, outcome: Record<string, string>): string {
  const url = new URL(returnUrl);
  for (const [name, value] of Object.entries(outcome)) url.searchParams.set(name, value);
  return url.href;
}
