import { pingDb, type Db } from '../db/open.ts';
import { AppError } from '../errors.ts';

export async function checkHealth(db: Db): Promise<{ status: 'ok'; timestamp: string }> {
  try {
    await pingDb(db);
  } catch {
    throw new AppError('service_unavailable', 'The database is not reachable');
  }
  return { status: 'ok', timestamp: new Date().toISOString() };
}
