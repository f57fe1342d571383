import { randomBytes } from 'node:crypto';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';

/** A random lowercase base32 string carrying `bytes` bytes of entropy. */
export function randomBase32(bytes: number): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(bytes));
}

export function newAccountId(): string {
  return `acc_${randomBase32(10)}`;
}

/** A generated connection id: `conn_` and 80 random bits. */
export function newConnectionId(): string {
  return `conn_${randomBase32(10)}`;
}

/** An audit event id: `evt_` and 80 random bits. */
export function newAuditEventId(): string {
  return `evt_${randomBase32(10)}`;
}
