import { randomBase32 } from '../ids.ts';
import { deleteGoneReplicas, deleteOtherReplicas, deleteReplica, listLiveReplicas, recordReplicaSettings } from '../../db/queries/replicas.ts';
import type { Db } from '../../db/open.ts';
import type { Logger } from '../../logger.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { differingSettings } from './security-settings.ts';

/** Replicas on this database whose security-relevant settings differ from this one's. */
export type ConfigDrift = { settings: string[]; replicas: number };

/**
 * Configuration drift between replicas sharing a database. Each process records a digest of
 * its security-relevant settings at start and touches it every heartbeat; it compares itself
 * with every live replica then, and whenever another starts or stops (a change notification).
 * A difference is logged at error level, naming the settings and replicas, never values, and
 * `/health` shows it. It does not stop a replica: each keeps applying its own settings to
 * what it does (see docs), so drift is for the operator to end.
 */
export type ReplicaRegistry = {
  readonly replicaId: string;
  /** The drift seen at the last comparison; undefined when every live replica agrees. */
  drift(): ConfigDrift | undefined;
  /** Stops the heartbeat and removes this replica's row, telling the others. */
  close(): Promise<void>;
};

export type ReplicaRegistryDeps = {
  db: Db;
  logger: Logger;
  changes: ChangeFeed;
  settings: Record<string, string>;
  /** PGlite: the data directory admits one process, so any other row is left by an earlier run. */
  singleProcess: boolean;
  heartbeatMs?: number;
};

const HEARTBEAT_MS = 30_000;
/** A replica not seen for three heartbeats is gone (crashed); its row is pruned after a day. */
const ALIVE_HEARTBEATS = 3;
const PRUNE_AFTER_MS = 24 * 3600_000;

export async function startReplicaRegistry(deps: ReplicaRegistryDeps): Promise<ReplicaRegistry> {
  const { db, logger, settings } = deps;
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS;
  const replicaId = `rep_${randomBase32(10)}`;
  let drift: ConfigDrift | undefined;
  /** What was last logged, so a lasting drift is reported once, not every heartbeat. */
  let reported = '';
  let closed = false;
  let comparing: Promise<void> | undefined;
  let heartbeatFailing = false;

  async function compare(): Promise<void> {
    const others = (await listLiveReplicas(db, heartbeatMs * ALIVE_HEARTBEATS)).filter((replica) => replica.replicaId !== replicaId);
    const differing = others.map((replica) => ({ replicaId: replica.replicaId, settings: differingSettings(settings, replica.settings) })).filter((d) => d.settings.length > 0);
    const names = [...new Set(differing.flatMap((d) => d.settings))].sort();
    drift = names.length > 0 ? { settings: names, replicas: differing.length } : undefined;
    const summary = JSON.stringify(differing);
    if (summary === reported) return;
    const wasDrifting = reported !== '' && reported !== '[]';
    reported = summary;
    if (drift) {
      logger.error(
        { replicaId, settings: drift.settings, replicas: differing },
        'configuration drift: replicas sharing this database differ in security-relevant settings; give every replica the same values',
      );
    } else if (wasDrifting) {
      logger.info({ replicaId }, 'configuration drift ended: every live replica has the same security-relevant settings');
    }
  }

  /** One comparison at a time; a request during one runs once more after it. */
  function compareSoon(): void {
    if (closed) return;
    comparing ??= compare()
      .catch((error: unknown) => logger.warn({ err: { message: (error as Error)?.message } }, 'could not compare settings with other replicas'))
      .finally(() => (comparing = undefined));
  }

  await recordReplicaSettings(db, { replicaId, settings });
  if (deps.singleProcess) await deleteOtherReplicas(db, replicaId);
  await compare();
  deps.changes.subscribe({ onChange: (change) => change.kind === 'replicas_changed' && compareSoon(), onReset: compareSoon });
  // The others compare now rather than at their next heartbeat.
  await deps.changes.announce({ kind: 'replicas_changed' });

  const heartbeat = setInterval(() => {
    void (async () => {
      try {
        await recordReplicaSettings(db, { replicaId, settings });
        await deleteGoneReplicas(db, PRUNE_AFTER_MS);
      } catch (error) {
        // The database is down: say so once per outage; the drift last seen stays shown.
        if (!heartbeatFailing) logger.warn({ err: { message: (error as Error)?.message } }, 'could not record this replica’s heartbeat');
        heartbeatFailing = true;
        return;
      }
      heartbeatFailing = false;
      compareSoon();
    })();
  }, heartbeatMs);
  heartbeat.unref();

  return {
    replicaId,
    drift: () => drift,
    async close() {
      closed = true;
      clearInterval(heartbeat);
      await comparing;
      try {
        await deleteReplica(db, replicaId);
        await deps.changes.announce({ kind: 'replicas_changed' });
      } catch {
        // The database went first: the row stops being live after three missed heartbeats.
      }
    },
  };
}
