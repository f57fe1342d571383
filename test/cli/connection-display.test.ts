import { describe, expect, it } from 'vitest';
import { describeStatus, type Connection } from '../../src/cli/connection-display.ts';

/** What `connections list|get` show for each state: what the user must do next. */
describe('describeStatus', () => {
  it.each<[Connection['status'], { state: string; detail: string }]>([
    [{ state: 'connected' }, { state: 'connected', detail: '' }],
    [{ state: 'disconnected' }, { state: 'disconnected', detail: '' }],
    [
      { state: 'auth_required', setupUrl: 'https://sb.example/setup/x', authorizationUrl: 'https://sb.example/oauth/authorize/x' },
      { state: 'auth_required', detail: 'https://sb.example/oauth/authorize/x' },
    ],
    [{ state: 'auth_required', setupUrl: 'https://sb.example/setup/x' }, { state: 'auth_required', detail: 'https://sb.example/setup/x' }],
    [
      { state: 'input_required', setupUrl: 'https://sb.example/setup/y', http: {}, missing: { headers: ['x-api-key'], query: ['region'] } },
      { state: 'input_required', detail: 'missing header x-api-key, query region (set up at https://sb.example/setup/y)' },
    ],
    [{ state: 'input_required', http: {}, missing: { headers: [], query: [] } }, { state: 'input_required', detail: 'missing configuration' }],
    [{ state: 'error', message: 'DNS lookup of mcp.example failed' }, { state: 'error', detail: 'DNS lookup of mcp.example failed' }],
  ])('%o', (status, expected) => {
    expect(describeStatus(status)).toEqual(expected);
  });
});
