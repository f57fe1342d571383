import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.ts';

/** `application/json`, any `+json` type, with or without parameters such as charset. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

/**
 * Reads the whole body, refusing more than `limit` bytes without buffering the excess.
 * Plain stream events rather than an async iterator: this runs on every proxied call.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      // Stop buffering; the rest of the body is drained unread.
      req.resume();
      reject(tooLarge(limit));
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
    // A client that goes away mid-body ends nothing.
    req.once('close', () => {
      if (!req.complete) reject(new Error('The client closed the request before its body ended'));
    });
  });
}

/**
 * The JSON object a REST request carries, or undefined when it has no body. Anything that is
 * not a JSON object is refused here, before it reaches a procedure.
 */
export async function readJsonObjectBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown> | undefined> {
  const raw = await readBody(req, limit);
  if (raw.length === 0 || raw.toString('utf8').trim() === '') return undefined;
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new AppError(
      'unsupported_media_type',
      `The request body must be JSON (Content-Type: application/json), not ${req.headers['content-type'] ?? 'an unlabelled body'}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('validation_error', 'The request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AppError('validation_error', 'The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `The request body is larger than the limit of ${limit} bytes`);
}
