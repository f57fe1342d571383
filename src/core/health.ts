import { pingDb, type Db } from '../db/open.ts';
import { AppError } from '../errors.ts';
import type { ConfigDrift } from './replicas/config-drift.ts';

export type Health = { status: 'ok'; timestamp: string; configDrift?: ConfigDrift };

/**
 * Up when the database answers. Configuration drift between replicas is shown, not made a
 * failure: a load balancer that took drifting replicas out would take them all out.
 */
export async function checkHealth(db: Db, replicas: { drift(): ConfigDrift | undefined }): Promise<Health> {
  try {
    await pingDb(db);
  } catch {
    throw new AppError('service_unavailable', 'The database is not reachable');
  }
  const drift = replicas.drift();
  return { status: 'ok', timestamp: new Date().toISOString(), ...(drift ? { configDrift: drift } : {}) };
}
