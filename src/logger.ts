import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

/** Field names whose values are never written, at the top level of a log object or one level down. */
const SECRET_FIELDS = new Set(['authorization', 'headers', 'key', 'token', 'secret', 'password', 'credentials']);
const CENSOR = '[redacted]';

/**
 * JSON logs on stdout. Request logs carry method, route template, status and duration only:
 * never headers, query strings or bodies, which is where keys, tokens and credentials live.
 * The redaction of secret-named fields is a second line of defence for anything logged by
 * accident.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'switchboard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: redactSecretFields },
    },
    // Stdout is written asynchronously: a log line never holds up a request. main.ts flushes
    // it before the process exits.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * Replaces the values of secret-named fields, at the top level and one level down, copying
 * only what it changes. A plain scan rather than pino's path-based redaction, which clones
 * every logged object and cost as much as the rest of a request log line.
 */
export function redactSecretFields(object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const field in object) {
    const value = object[field];
    let replacement: unknown = value;
    if (SECRET_FIELDS.has(field.toLowerCase())) replacement = CENSOR;
    else if (isPlainObject(value)) replacement = redactNested(value);
    if (replacement !== value) {
      copy ??= { ...object };
      copy[field] = replacement;
    }
  }
  return copy ?? object;
}

function redactNested(object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const field in object) {
    if (!SECRET_FIELDS.has(field.toLowerCase())) continue;
    copy ??= { ...object };
    copy[field] = CENSOR;
  }
  return copy ?? object;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
