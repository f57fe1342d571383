import { randomBytes } from 'node:crypto';
import type postgres from 'postgres';

/**
 * LISTEN that survives the database going away for longer than a moment. postgres.js re-issues
 * LISTEN once when its listening connection closes and, should that fail (the server is still
 * down), silently gives up: this process would never hear another change. A watchdog NOTIFYs a
 * channel of its own every few seconds; when the database answers but the listener does not
 * hear, it subscribes anew (and `onConnected` tells subscribers they may have missed changes).
 */
export async function listenResiliently(
  client: postgres.Sql,
  channel: string,
  onMessage: (payload: string) => void,
  onConnected: (() => void) | undefined,
  checkEveryMs = 2_000,
): Promise<() => Promise<void>> {
  const pingChannel = `${channel}_ping_${randomBytes(6).toString('hex')}`;
  let heard = 0;
  let subscriptions: postgres.ListenMeta[] = [];
  const subscribe = async () => {
    subscriptions = await Promise.all([
      client.listen(channel, onMessage, onConnected),
      client.listen(pingChannel, () => void heard++),
    ]);
  };
  const unsubscribe = () => Promise.all(subscriptions.map((subscription) => subscription.unlisten().catch(() => {})));
  await subscribe();

  let checking = false;
  let closed = false;
  const watchdog = setInterval(() => {
    if (checking || closed) return;
    checking = true;
    void (async () => {
      const before = heard;
      // Throws while the database is down: the next round tries again.
      await client.notify(pingChannel, '');
      if (await becomes(() => heard > before, checkEveryMs)) return;
      if (closed) return;
      await unsubscribe();
      await subscribe();
    })()
      .catch(() => {})
      .finally(() => (checking = false));
  }, checkEveryMs);
  watchdog.unref();

  return async () => {
    closed = true;
    clearInterval(watchdog);
    await unsubscribe();
  };
}

function becomes(condition: () => boolean, withinMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + withinMs;
    const check = () => {
      if (condition()) return resolve(true);
      if (Date.now() > deadline) return resolve(false);
      setTimeout(check, 25).unref();
    };
    check();
  });
}
