import { sql } from 'kysely';
import type { Db } from '../open.ts';
import { jsonb } from './jsonb.ts';

/** A running server process and the digests of its security-relevant settings. */
export type ReplicaSettings = { replicaId: string; settings: Record<string, string> };

/**
 * Records this replica's settings and that it is alive now (the database's clock). An upsert,
 * so a heartbeat also restores a row another replica pruned while this one was cut off.
 */
export async function recordReplicaSettings(db: Db, replica: ReplicaSettings): Promise<void> {
  await sql`
    insert into replica_settings (replica_id, settings) values (${replica.replicaId}, ${jsonb(replica.settings)})
    on conflict (replica_id) do update set settings = excluded.settings, seen_at = now()`.execute(db);
}

/** Replicas whose heartbeat was seen within `aliveMs`, this one included. */
export async function listLiveReplicas(db: Db, aliveMs: number): Promise<ReplicaSettings[]> {
  const rows = await db
    .selectFrom('replica_settings')
    .select(['replica_id', 'settings'])
    .where('seen_at', '>', sql<Date>`now() - (${aliveMs}::integer * interval '1 millisecond')`)
    .orderBy('started_at')
    .execute();
  return rows.map((row) => ({ replicaId: row.replica_id, settings: row.settings }));
}

export async function deleteReplica(db: Db, replicaId: string): Promise<void> {
  await db.deleteFrom('replica_settings').where('replica_id', '=', replicaId).execute();
}

/** Deletes the rows of replicas gone for longer than `goneMs` (crashed: they never said goodbye). */
export async function deleteGoneReplicas(db: Db, goneMs: number): Promise<void> {
  await db.deleteFrom('replica_settings').where('seen_at', '<', sql<Date>`now() - (${goneMs}::integer * interval '1 millisecond')`).execute();
}

/** Deletes every other replica's row: for PGlite, whose data directory one process alone can hold. */
export async function deleteOtherReplicas(db: Db, replicaId: string): Promise<void> {
  await db.deleteFrom('replica_settings').where('replica_id', '<>', replicaId).execute();
}
