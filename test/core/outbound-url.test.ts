import { describe, expect, it } from 'vitest';
import { parseEgressAllowlist } from '../../src/egress-allowlist.ts';
import { checkOutboundUrl } from '../../src/core/network/outbound-url.ts';
import { AppError } from '../../src/errors.ts';

/** The one check on URLs Switchboard sends requests to (upstream MCP servers, webhook receivers). */

const field = { name: 'target', example: 'https://example.com/x', credentialsInstead: 'use headers' };
const none = parseEgressAllowlist('');

function refusal(raw: string, allowlist = none): string {
  try {
    checkOutboundUrl(raw, allowlist, field);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('validation_error');
    return (error as AppError).message;
  }
  throw new Error(`${raw} was accepted`);
}

describe('checkOutboundUrl', () => {
  it('returns the normalized URL', () => {
    expect(checkOutboundUrl('HTTPS://Mcp.Example.COM/mcp?x=1', none, field)).toBe('https://mcp.example.com/mcp?x=1');
  });

  it.each([
    ['https://' + 'a'.repeat(2040) + '.com/', 'target is longer than 2048 characters'],
    ['not a url', 'target is not a valid absolute URL, e.g. https://example.com/x'],
    ['ftp://example.com/', 'target must use http or https, not ftp'],
    ['https://user:pw@example.com/', 'target must not carry a user name or password: use headers'],
    ['https://example.com/#top', 'target must not have a #fragment'],
    ['http://127.0.0.1:8080/', 'target points to 127.0.0.1, which is not allowed (loopback address); an operator can allow it with ALLOWED_UPSTREAM_HOSTS'],
  ])('refuses %s, naming the field', (raw, message) => {
    expect(refusal(raw)).toBe(message);
  });

  it('lets the operator allowlist open a host', () => {
    expect(checkOutboundUrl('http://127.0.0.1:8080/', parseEgressAllowlist('127.0.0.1'), field)).toBe('http://127.0.0.1:8080/');
  });
});
