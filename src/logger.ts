import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

/**
 * JSON logs on stdout. Request logs carry method, route template, status and duration only:
 * never headers, query strings or bodies, which is where keys, tokens and credentials live.
 * The redaction list is a second line of defence for anything logged by accident.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'switchboard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers',
          '*.headers',
          'key',
          '*.key',
          'token',
          '*.token',
          'secret',
          '*.secret',
          'password',
          '*.password',
        ],
        censor: '[redacted]',
      },
    },
    // Stdout is written asynchronously: a log line never holds up a request. main.ts flushes
    // it before the process exits.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
