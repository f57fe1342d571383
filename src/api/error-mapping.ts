import { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { DatabaseUnavailableError } from '../db/connection-loss.ts';
import { AppError, type AppErrorCode } from '../errors.ts';

const appCodeByTrpcCode: Partial<Record<TRPCError['code'], AppErrorCode>> = {
  BAD_REQUEST: 'validation_error',
  PARSE_ERROR: 'validation_error',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  METHOD_NOT_SUPPORTED: 'method_not_allowed',
  CONFLICT: 'conflict',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  TOO_MANY_REQUESTS: 'rate_limited',
  BAD_GATEWAY: 'bad_gateway',
  SERVICE_UNAVAILABLE: 'service_unavailable',
};

/**
 * Whatever was thrown, as an AppError fit to show a client. Unknown failures become a generic
 * internal error: their messages may carry SQL, paths or secrets, so they are logged, not sent.
 */
export function appErrorFromUnknown(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (causedByUnavailableDatabase(error)) return new AppError('service_unavailable', 'The database is unavailable right now; try again in a few seconds');
  if (error instanceof ZodError) return new AppError('validation_error', describeZodError(error));
  if (error instanceof TRPCError) {
    if (error.cause instanceof AppError) return error.cause;
    if (error.cause instanceof ZodError && error.code === 'BAD_REQUEST') {
      return new AppError('validation_error', describeZodError(error.cause));
    }
    if (error.code === 'PARSE_ERROR') return new AppError('validation_error', 'The request body is not valid JSON');
    const code = appCodeByTrpcCode[error.code];
    if (code) return new AppError(code, error.message);
  }
  return new AppError('internal_error', 'Internal server error');
}

export function describeZodError(error: ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

function causedByUnavailableDatabase(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof DatabaseUnavailableError) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
