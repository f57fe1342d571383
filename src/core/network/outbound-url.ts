import { AppError } from '../../errors.ts';
import { ALLOWLIST_VARIABLE, normalizeHost, type EgressAllowlist } from '../../egress-allowlist.ts';
import { checkUrlTarget } from './egress-policy.ts';

const MAX_URL_LENGTH = 2048;

/** The field a URL came in, for messages that say what to fix. */
export type OutboundUrlField = {
  /** As the caller spelled it: `mcpUrl`, `url`. */
  name: string;
  /** A URL of the right kind, shown when the given one does not parse. */
  example: string;
  /** Where credentials go instead of the URL's userinfo. */
  credentialsInstead: string;
};

/**
 * A URL Switchboard will send requests to on a caller's behalf (an upstream MCP server, a
 * webhook receiver): absolute http(s), no userinfo, no fragment, and a host it may reach. An IP
 * literal or `localhost` outside the operator's allowlist is refused here; a name is judged
 * again after DNS, on every request (the egress guard). Returns the normalized URL, or throws
 * `validation_error`.
 */
export function checkOutboundUrl(raw: string, allowlist: EgressAllowlist, field: OutboundUrlField): string {
  const { name } = field;
  if (raw.length > MAX_URL_LENGTH) throw new AppError('validation_error', `${name} is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('validation_error', `${name} is not a valid absolute URL, e.g. ${field.example}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppError('validation_error', `${name} must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username || url.password) {
    throw new AppError('validation_error', `${name} must not carry a user name or password: ${field.credentialsInstead}`);
  }
  if (url.hash) throw new AppError('validation_error', `${name} must not have a #fragment`);
  const target = checkUrlTarget(url, allowlist);
  if (!target.allowed) {
    throw new AppError(
      'validation_error',
      `${name} points to ${normalizeHost(url.hostname)}, which is not allowed (${target.kind} address); an operator can allow it with ${ALLOWLIST_VARIABLE}`,
    );
  }
  return url.href;
}
