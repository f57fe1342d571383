import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

/** Field names whose values are never written, at the top level of a log object or one level down. */
const SECRET_FIELDS = new Set(['authorization', 'headers', 'key', 'token', 'secret', 'password', 'credentials']);
const CENSOR = '[redacted]';

type LoggerConfig = Pick<Config, 'logLevel'> & Partial<Pick<Config, 'logFormat'>>;

/**
 * JSON logs on stdout; readable, coloured lines instead when stdout is a terminal (or
 * LOG_FORMAT=pretty). Request logs carry method, route template, status and duration only:
 * never headers, query strings or bodies, which is where keys, tokens and credentials live.
 * The redaction of secret-named fields is a second line of defence for anything logged by
 * accident; it runs before either format is written.
 */
export function createLogger(config: LoggerConfig, destination?: pino.DestinationStream): Logger {
  const format = config.logFormat ?? 'json';
  // `auto` only looks at the real stdout: a destination given by a caller gets JSON unless asked.
  const pretty = format === 'pretty' || (format === 'auto' && destination === undefined && process.stdout.isTTY === true);
  return pino(
    {
      level: config.logLevel,
      base: { service: 'switchboard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: redactSecretFields },
    },
    pretty
      ? readableStream(destination)
      : // Stdout is written asynchronously: a log line never holds up a request. main.ts flushes
        // it before the process exits.
        (destination ?? pino.destination({ dest: 1, sync: false })),
  );
}

/**
 * Each JSON line turned into a readable one, in this thread and synchronously: this is for a
 * person at a terminal (where the JSON path's throughput does not matter), and a line written
 * just before the process exits is never lost in a worker or a stream pipeline.
 */
function readableStream(destination: pino.DestinationStream | undefined): pino.DestinationStream & { flush(cb: () => void): void } {
  const out = destination ?? pino.destination({ dest: 1, sync: true });
  // Loaded only here: ~30 ms of start-up that JSON logging never needs.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const prettify = prettyFactory({
    // Colours only on the real stdout, and only when it can show them (NO_COLOR is respected).
    ...(destination === undefined ? {} : { colorize: false }),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: false,
  });
  return {
    write: (line: string) => void out.write(prettify(line)),
    flush: (cb) => {
      const flushable = out as { flush?: (cb: (error?: Error) => void) => void };
      if (typeof flushable.flush === 'function') flushable.flush(() => cb());
      else cb();
    },
  };
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
