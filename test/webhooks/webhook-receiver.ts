import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got, checked with the `standardwebhooks` library (an implementation independent of ours). */
export type Received = {
  at: number;
  headers: Record<string, string>;
  body: string;
  /** The verified event, or why verification failed. */
  verified: { ok: true; event: { type: string; timestamp: string; data: Record<string, unknown> } } | { ok: false; error: string };
  /** What the receiver answered. */
  answered: number;
};

export type Receiver = {
  url: string;
  received: Received[];
  /** The signing secret to verify with (set once the webhook is created). */
  secret?: string;
  /** Statuses to answer next, in order; 200 once they are used up. */
  answerNext(...statuses: number[]): void;
  /** Waits until `count` requests matching `filter` arrived. */
  waitFor(count: number, filter?: (r: Received) => boolean, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
};

export async function startReceiver(options: { path?: string; delayMs?: number } = {}): Promise<Receiver> {
  const path = options.path ?? '/hooks/switchboard';
  const queue: number[] = [];
  const received: Received[] = [];
  const receiver: Receiver = {
    url: '',
    received,
    answerNext: (...statuses) => void queue.push(...statuses),
    async waitFor(count, filter = () => true, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matching = received.filter(filter);
        if (matching.length >= count) return matching;
        if (Date.now() > deadline) throw new Error(`the receiver got ${matching.length} of ${count} expected requests: ${JSON.stringify(received.map((r) => r.body))}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified: Received['verified'];
      try {
        if (!receiver.secret) throw new Error('no secret yet');
        verified = { ok: true, event: new Webhook(receiver.secret).verify(body, headers) as never };
      } catch (error) {
        verified = { ok: false, error: (error as Error).message };
      }
      const status = req.url === path && req.method === 'POST' ? (queue.shift() ?? 200) : 404;
      received.push({ at: Date.now(), headers, body, verified, answered: status });
      setTimeout(() => res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no'), options.delayMs ?? 0);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return receiver;
}
