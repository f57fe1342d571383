import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_init.ts';
import * as m0002 from './0002_connections.ts';
import * as m0003 from './0003_service_tokens.ts';
import * as m0004 from './0004_oauth.ts';
import * as m0005 from './0005_audit_events.ts';
import * as m0006 from './0006_rate_limits.ts';
import * as m0007 from './0007_webhooks.ts';
import * as m0008 from './0008_replica_settings.ts';
import * as m0009 from './0009_incarnations.ts';
import * as m0010 from './0010_oauth_link_floor.ts';
import * as m0011 from './0011_client_sessions.ts';

/** Explicit registry: file-system discovery breaks under test runners that load `.ts`. */
export const migrations: Record<string, Migration> = {
  '0001_init': m0001,
  '0002_connections': m0002,
  '0003_service_tokens': m0003,
  '0004_oauth': m0004,
  '0005_audit_events': m0005,
  '0006_rate_limits': m0006,
  '0007_webhooks': m0007,
  '0008_replica_settings': m0008,
  '0009_incarnations': m0009,
  '0010_oauth_link_floor': m0010,
  '0011_client_sessions': m0011,
};
