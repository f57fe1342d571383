import type { OpenDatabase } from '../../db/open.ts';
import { CHANGES_CHANNEL, notifyChange, parseChange, type Change } from '../../db/queries/changes.ts';

export type { Change };

type Subscriber = {
  onChange(change: Change): void;
  /** Notifications may have been missed (listener reconnected): forget everything. */
  onReset(): void;
};

/**
 * Cache invalidation across processes sharing one database. A change is applied to this
 * process at once (so a caller reads its own writes) and sent to every other process with
 * NOTIFY. When the listening connection comes back after a drop, subscribers reset.
 */
export type ChangeFeed = {
  announce(change: Change): Promise<void>;
  subscribe(subscriber: Subscriber): void;
  close(): Promise<void>;
};

export async function startChangeFeed(database: Pick<OpenDatabase, 'db' | 'listen'>): Promise<ChangeFeed> {
  const subscribers: Subscriber[] = [];
  const dispatch = (change: Change) => {
    for (const subscriber of subscribers) subscriber.onChange(change);
  };
  let connections = 0;
  const unlisten = await database.listen(
    CHANGES_CHANNEL,
    (payload) => {
      const change = parseChange(payload);
      if (change) dispatch(change);
    },
    () => {
      // The first connection is the start; any later one is a reconnect after a gap.
      if (connections++ > 0) for (const subscriber of subscribers) subscriber.onReset();
    },
  );
  return {
    async announce(change) {
      dispatch(change);
      await notifyChange(database.db, change);
    },
    subscribe(subscriber) {
      subscribers.push(subscriber);
    },
    close: unlisten,
  };
}
