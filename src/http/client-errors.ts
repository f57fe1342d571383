import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorResponse } from '../wire/respond.ts';
import { AppError } from '../errors.ts';

/**
 * Requests Node refuses before any route sees them: oversized headers, malformed request lines,
 * a client too slow to send its headers or body. Node would answer a bare status line; ours
 * carries `{error, message}` like every other error, then the socket is closed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // Gone already, or mid-response (a timeout after an answer began): nothing sensible to write.
  const written = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
  if (error.code === 'ECONNRESET' || !socket.writable || written > 0) {
    socket.destroy();
    return;
  }
  const { status, body } = errorResponse(appErrorFor(error.code));
  const payload = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(payload)}\r\n` +
      'connection: close\r\n\r\n' +
      payload,
    // The client may still be sending (the rest of a huge header): stop reading once answered.
    () => socket.destroy(),
  );
}

function appErrorFor(code: string | undefined): AppError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('headers_too_large', 'The request line and headers are larger than the server accepts');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('request_timeout', 'The request was not received in time');
    default:
      return new AppError('validation_error', 'The request is not valid HTTP/1.1');
  }
}
