import {
  ProtocolError,
  ProtocolErrorCode,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type FetchLike,
  type JSONRPCMessage,
  type Transport,
} from '@modelcontextprotocol/client';

/**
 * Guards for the SDK client's transport, on the calls Switchboard makes itself (REST tools,
 * listings). The SDK reads a JSON reply whole and an event whole, so a reply's size is what
 * its memory costs; and when the event stream meant to carry an answer ends or breaks without
 * it, the SDK would leave the request waiting for its timeout.
 */

/** Why an upstream's reply stream was given up on. */
export type ReplyFailure = 'too_large' | 'broken' | 'unanswered';

export class UpstreamReplyTooLargeError extends Error {
  override name = 'UpstreamReplyTooLargeError';
  readonly code = 'UPSTREAM_TOO_LARGE';
  constructor(readonly limitBytes: number) {
    super(`The upstream's reply exceeds ${limitBytes} bytes`);
  }
}

/** Marks the JSON-RPC error handed to the SDK for a request whose stream failed. */
const FAILURE_KEY = 'switchboardReplyFailure';

export type ReplyGuards = {
  /** Wraps the transport's fetch: counts reply bytes, refusing more than the limit. */
  fetch(inner: FetchLike): FetchLike;
  /** Installs on a transport, before the client connects over it. */
  install(transport: Transport): void;
};

export function createReplyGuards(maxBytes: number): ReplyGuards {
  // Requests sent and not answered yet; and why the stream of one of them was given up on.
  const pending = new Set<string | number>();
  const failures = new Map<string | number, ReplyFailure>();

  function rememberFailure(init: RequestInit | undefined, failure: ReplyFailure): void {
    const id = requestIdOf(init?.body);
    if (id !== undefined && pending.has(id)) failures.set(id, failure);
  }

  return {
    fetch: (inner) => async (input, init) => {
      const response = await inner(input, init);
      if (!response.body) return response;
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > maxBytes) {
        await response.body.cancel().catch(() => {});
        throw new UpstreamReplyTooLargeError(maxBytes);
      }
      const reader = response.body.getReader();
      let seen = 0;
      const counted = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            let chunk: ReadableStreamReadResult<Uint8Array>;
            try {
              chunk = await reader.read();
            } catch (error) {
              rememberFailure(init, 'broken');
              controller.error(error);
              return;
            }
            if (chunk.done) return controller.close();
            seen += chunk.value.byteLength;
            if (seen > maxBytes) {
              const error = new UpstreamReplyTooLargeError(maxBytes);
              rememberFailure(init, 'too_large');
              await reader.cancel(error).catch(() => {});
              controller.error(error);
              return;
            }
            controller.enqueue(chunk.value);
          },
          cancel: (reason) => reader.cancel(reason),
        },
        { highWaterMark: 0 },
      );
      return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
    },

    install(transport) {
      // The client sets `onmessage` when it connects: answers pass through here on their way.
      let deliver: Transport['onmessage'];
      const receive = (message: JSONRPCMessage, extra?: Parameters<NonNullable<Transport['onmessage']>>[1]) => {
        if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
          pending.delete(message.id as string | number);
          failures.delete(message.id as string | number);
        }
        deliver?.(message, extra);
      };
      Object.defineProperty(transport, 'onmessage', {
        configurable: true,
        get: () => (deliver ? receive : undefined),
        set: (handler: Transport['onmessage']) => (deliver = handler),
      });
      const send = transport.send.bind(transport);
      transport.send = async (message, options) => {
        if (Array.isArray(message) || !isJSONRPCRequest(message)) return send(message, options);
        const id = message.id;
        pending.add(id);
        try {
          await send(message, {
            ...options,
            onRequestStreamEnd: () => {
              options?.onRequestStreamEnd?.();
              if (!pending.delete(id)) return;
              const failure = failures.get(id) ?? 'unanswered';
              failures.delete(id);
              const data = { [FAILURE_KEY]: failure, limitBytes: maxBytes };
              receive({ jsonrpc: '2.0', id, error: { code: ProtocolErrorCode.InternalError, message: describeReplyFailure(failure), data } });
            },
          });
        } catch (error) {
          pending.delete(id);
          failures.delete(id);
          throw error;
        }
      };
    },
  };
}

/** The failure behind a JSON-RPC error the guards handed the SDK, if it is one (with the size limit in force). */
export function replyFailureOf(error: unknown): { kind: ReplyFailure; limitBytes: number } | undefined {
  if (!(error instanceof ProtocolError)) return undefined;
  const data = error.data as Record<string, unknown> | undefined;
  const kind = data?.[FAILURE_KEY];
  if (kind !== 'too_large' && kind !== 'broken' && kind !== 'unanswered') return undefined;
  return { kind, limitBytes: Number(data?.limitBytes) };
}

function describeReplyFailure(failure: ReplyFailure): string {
  if (failure === 'too_large') return 'the reply is larger than this server accepts';
  if (failure === 'broken') return 'the connection closed before the answer';
  return 'the event stream ended without an answer';
}

/** The id of the JSON-RPC request a POST carries (read only when a stream fails). */
function requestIdOf(body: unknown): string | number | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' || typeof id === 'number' ? id : undefined;
  } catch {
    return undefined;
  }
}
