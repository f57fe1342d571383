import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, databaseAddress } from '../../src/db/connection-loss.ts';

describe('databaseAddress: where an unreachable database is, never who logs in to it', () => {
  it.each([
    ['postgres://switchboard:secret@db.internal/switchboard', 'db.internal:5432'],
    ['postgresql://u:pw@db:6432/x?sslmode=require', 'db:6432'],
    // A password written with a raw @ still stays out.
    ['postgres://u:p@ss@db:6432/x', 'db:6432'],
    ['postgres://u:pw@a:1,b/x', 'a:1,b:5432'],
    ['postgres://u@[::1]:5433/x', '[::1]:5433'],
    ['postgres:///x?host=/run/postgresql', '/run/postgresql'],
    ['postgres:///x', 'localhost:5432'],
  ])('%s → %s', (url, address) => {
    expect(databaseAddress(url)).toBe(address);
  });
});

describe('DatabaseUnavailableError', () => {
  it("names the address and the driver's reason: the code alone when the message repeats it", () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' });
    expect(new DatabaseUnavailableError(refused, '127.0.0.1:5999').message).toBe('The database at 127.0.0.1:5999 is unavailable (ECONNREFUSED)');
    const starting = Object.assign(new Error('the database system is starting up'), { code: '57P03' });
    expect(new DatabaseUnavailableError(starting, 'db:5432').message).toBe('The database at db:5432 is unavailable (57P03: the database system is starting up)');
  });
});
