import { describe, expect, it } from 'vitest';
import { classifyMessage } from '../../src/mcp/json-rpc.ts';

/** How the MCP endpoints tell a posted body's kind, by the SDK's JSON-RPC schemas. */

describe('classifyMessage', () => {
  it.each<[string, unknown, string]>([
    ['a request', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, 'request'],
    ['a request with a string id and params', { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'x' } }, 'request'],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }, 'notification'],
    ['a result', { jsonrpc: '2.0', id: 1, result: {} }, 'response'],
    ['an error answer', { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'no' } }, 'response'],
    ['a batch', [{ jsonrpc: '2.0', method: 'x' }], 'batch'],
    ['an empty batch', [], 'invalid'],
    ['no jsonrpc member', { id: 1, method: 'tools/list' }, 'invalid'],
    ['another jsonrpc version', { jsonrpc: '1.0', id: 1, method: 'tools/list' }, 'invalid'],
    ['params that are an array', { jsonrpc: '2.0', id: 1, method: 'x', params: [1] }, 'invalid'],
    ['a null id on a request', { jsonrpc: '2.0', id: null, method: 'x' }, 'invalid'],
    ['a fractional id', { jsonrpc: '2.0', id: 1.5, method: 'x' }, 'invalid'],
    ['a member JSON-RPC does not define', { jsonrpc: '2.0', id: 1, method: 'x', extra: true }, 'invalid'],
    ['a string', 'tools/list', 'invalid'],
    ['null', null, 'invalid'],
  ])('%s → %s', (_label, body, kind) => {
    expect(classifyMessage(body).kind).toBe(kind);
  });

  it('keeps what the endpoint routes on', () => {
    expect(classifyMessage({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'x' } })).toEqual({
      kind: 'request',
      id: 7,
      method: 'tools/call',
      params: { name: 'x' },
    });
  });
});
