import type { IncomingMessage } from 'node:http';
import { MAX_JSON_DEPTH } from '../core/json-depth.ts';
import { AppError } from '../errors.ts';

/** The most a request without a credential (setup form, unknown route) may send as its body. */
export const UNAUTHENTICATED_BODY_BYTES = 64 * 1024;

/** `application/json`, any `+json` type, with or without parameters such as charset. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

/**
 * Reads the whole body, refusing more than `limit` bytes without buffering the excess, and,
 * with `timeoutMs`, a body that takes longer to arrive (a 408; the caller closes the connection).
 * Plain stream events rather than an async iterator: this runs on every proxied call.
 */
export function readBody(req: IncomingMessage, limit: number, options: { timeoutMs?: number } = {}): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      req.off('data', onData);
      reject(new AppError('request_timeout', `The request body did not arrive within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      clearTimeout(timer);
      // Stop buffering; the rest of the body is drained unread.
      req.resume();
      reject(tooLarge(limit));
    };
    req.on('data', onData);
    req.once('end', () => {
      clearTimeout(timer);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // A client that goes away mid-body ends nothing.
    req.once('close', () => {
      clearTimeout(timer);
      if (!req.complete) reject(new Error('The client closed the request before its body ended'));
    });
  });
}

/**
 * The JSON object a REST request carries, or undefined when it has no body. Anything that is
 * not a JSON object is refused here, before it reaches a procedure.
 */
export async function readJsonObjectBody(
  req: IncomingMessage,
  limit: number,
  options: { timeoutMs?: number } = {},
): Promise<Record<string, unknown> | undefined> {
  const raw = await readBody(req, limit, options);
  if (raw.length === 0 || raw.toString('utf8').trim() === '') return undefined;
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new AppError(
      'unsupported_media_type',
      `The request body must be JSON (Content-Type: application/json), not ${req.headers['content-type'] ?? 'an unlabelled body'}`,
    );
  }
  const text = raw.toString('utf8');
  if (nestingExceeds(text, MAX_JSON_DEPTH)) {
    throw new AppError('validation_error', `The request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError('validation_error', 'The request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AppError('validation_error', 'The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Whether brackets outside strings nest deeper than `max`; a linear scan, no parsing.
 * JSON.parse takes any depth, but what handles the value afterwards (validation, JSON.stringify
 * on the way to the database or an upstream) recurses and overflows the stack: a body of 100k
 * nested arrays fits in 1 MB. No request of ours needs more than a few levels.
 */
export function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++; // a backslash escapes the next character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      if (++depth > max) return true;
    } else if (char === 0x7d || char === 0x5d) depth--;
  }
  return false;
}

function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `The request body is larger than the limit of ${limit} bytes`);
}
