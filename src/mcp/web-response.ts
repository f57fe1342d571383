import type { ServerResponse } from 'node:http';

/**
 * Writes a web `Response` (what the SDK's handler answers) to a Node response: headers as they
 * are, the body streamed chunk by chunk so event streams (progress) arrive as they are sent,
 * waiting while the client reads slower, and stopping when it goes away.
 */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  if (!response.body) {
    res.end();
    return;
  }
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
  }
  const reader = response.body.getReader();
  let clientGone = false;
  const onClose = () => {
    clientGone = true;
    reader.cancel().catch(() => {});
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || clientGone) break;
      if (!res.write(value)) await drainedOrClosed(res);
    }
    if (!clientGone) res.end();
  } catch {
    // The stream broke off (the SDK tore the exchange down): end what was sent.
    if (!res.headersSent) res.statusCode = 502;
    res.destroy();
  } finally {
    res.off('close', onClose);
  }
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
