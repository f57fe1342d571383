import { expect } from 'vitest';
import type { TestServer } from '../helpers/server.ts';
import { startReceiver, type Received, type Receiver } from './webhook-receiver.ts';

/** What the webhook tests share: calls as one account, receivers hooked to webhooks, and the secrets seen. */
export type Created = { webhookId: string; url: string; events: string[] | null; description: string | null; createdAt: string; secret: string };
export type Attempt = { attempt: number; attemptedAt: string; durationMs: number; responseStatus: number | null; error: string | null };
export type Delivery = { eventId: string; eventType: string; status: string; attemptCount: number; nextAttemptAt: string | null; payload: unknown; attempts: Attempt[] };

export type WebhookClient = {
  send(method: string, pathname: string, body?: unknown, bearer?: string): Promise<{ status: number; body: any; text: string }>;
  /** A receiver with a webhook of `namespace` pointing at it; the receiver verifies with its secret. */
  hookedReceiver(namespace: string, input?: { events?: string[]; description?: string }): Promise<{ receiver: Receiver; webhook: Created }>;
  deliveriesOf(namespace: string, webhookId: string): Promise<Delivery[]>;
  receivers: Receiver[];
  /** Every signing secret handed out so far. */
  secrets: string[];
  close(): Promise<void>;
};

export function webhookClient(server: TestServer, key: string): WebhookClient {
  const receivers: Receiver[] = [];
  const secrets: string[] = [];
  const send: WebhookClient['send'] = async (method, pathname, body, bearer = key) => {
    const response = await server.request(pathname, {
      method,
      bearer,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
  };
  return {
    send,
    receivers,
    secrets,
    async hookedReceiver(namespace, input = {}) {
      const receiver = await startReceiver();
      receivers.push(receiver);
      const created = await send('POST', `/namespaces/${namespace}/webhooks`, { url: receiver.url, ...input });
      expect(created.status, created.text).toBe(201);
      receiver.secret = created.body.secret;
      secrets.push(created.body.secret);
      return { receiver, webhook: created.body as Created };
    },
    async deliveriesOf(namespace, webhookId) {
      const answer = await send('GET', `/namespaces/${namespace}/webhooks/${webhookId}/deliveries?limit=100`);
      expect(answer.status, answer.text).toBe(200);
      return answer.body.deliveries as Delivery[];
    },
    close: async () => void (await Promise.all(receivers.map((r) => r.close()))),
  };
}

export async function eventually<T>(read: () => Promise<T>, until: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (until(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The verified event of a request; throws when its signature did not verify. */
export function eventOf(r: Received) {
  if (!r.verified.ok) throw new Error(`signature check failed: ${r.verified.error}`);
  return r.verified.event;
}
