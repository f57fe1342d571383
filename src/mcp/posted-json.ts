import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';
import { MAX_JSON_DEPTH } from '../core/json-depth.ts';
import { isJsonContentType, nestingExceeds, readBody } from '../wire/body.ts';
import { sendJsonRpcError, SERVER_ERROR } from './json-rpc.ts';

/**
 * The JSON an MCP endpoint was posted, parsed; undefined when the request was answered here.
 * An empty body is a JSON-RPC parse error (400) whatever its Content-Type, as the official
 * client's `mcp.call` sends one without any: only a body that is there can be of the wrong
 * media type (415).
 */
export async function readPostedJson(req: IncomingMessage, res: ServerResponse, maxBodyBytes: number): Promise<{ text: string; body: unknown } | undefined> {
  const text = (await readBody(req, maxBodyBytes)).toString('utf8');
  if (text.trim() === '') {
    sendJsonRpcError(res, 400, null, { code: ProtocolErrorCode.ParseError, message: 'Parse error: the body is empty; post one JSON-RPC message' });
    return undefined;
  }
  if (!isJsonContentType(req.headers['content-type'])) {
    sendJsonRpcError(res, 415, null, { code: SERVER_ERROR, message: 'Unsupported Media Type: Content-Type must be application/json' });
    return undefined;
  }
  // Checked before parsing: the message is serialized again on its way upstream, which recurses.
  if (nestingExceeds(text, MAX_JSON_DEPTH)) {
    sendJsonRpcError(res, 400, null, { code: ProtocolErrorCode.InvalidRequest, message: `Invalid Request: the body nests more than ${MAX_JSON_DEPTH} levels deep` });
    return undefined;
  }
  try {
    return { text, body: JSON.parse(text) as unknown };
  } catch {
    sendJsonRpcError(res, 400, null, { code: ProtocolErrorCode.ParseError, message: 'Parse error: the body is not valid JSON' });
    return undefined;
  }
}
