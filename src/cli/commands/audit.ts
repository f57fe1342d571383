import type { Command } from 'commander';
import { positiveInteger } from '../arguments.ts';
import { httpContext } from '../context.ts';
import type { Query } from '../http-client.ts';
import { cell, printJson, printLine, printTable } from '../output.ts';
import type { AuditLogEntry } from '../../core/audit/audit-log.ts';

type AuditPage = { events: AuditLogEntry[]; nextCursor: string | null };
type ListOptions = { type?: string; namespace?: string; connection?: string; since?: string; until?: string; limit?: number; cursor?: string; all?: boolean };

/** The facts an event keeps, as `key=value`; a policy or a list as compact JSON. */
function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

const actorText = (actor: AuditLogEntry['actor']) => (actor.id ? `${actor.type} ${actor.id}` : actor.type);

/** `switchboard audit list`: the account's security events over HTTP (API keys only), with the API's filters. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description("Your account's security events: keys, tokens, credentials, OAuth (over HTTP, API keys only)");

  audit
    .command('list')
    .description('List security events, newest first (the filters are those of GET /audit-events)')
    .option('--type <type>', 'only this event type, e.g. oauth.failed, token.revoked, api_key.created')
    .option('--namespace <name>', 'only events about this namespace')
    .option('--connection <id>', 'only events about this connection')
    .option('--since <time>', 'only events at or after this time (ISO 8601, e.g. 2026-01-31T00:00:00Z)')
    .option('--until <time>', 'only events before this time (ISO 8601)')
    .option('--limit <n>', 'events per page (1–100, default 50)', positiveInteger(100))
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow nextCursor through every page')
    .addHelpText(
      'after',
      `
Examples:
  switchboard audit list
  switchboard audit list --type oauth.failed --namespace my-team --since 2026-01-31T00:00:00Z
  switchboard audit list --connection github --all --json | jq '.events[].type'`,
    )
    .action(async (options: ListOptions, command: Command) => {
      const { client, json } = httpContext(command);
      const filters: Query = {
        type: options.type,
        namespace: options.namespace,
        connectionId: options.connection,
        since: options.since,
        until: options.until,
        limit: options.limit,
      };
      const found: AuditLogEntry[] = [];
      let cursor = options.cursor;
      let page: AuditPage;
      do {
        page = await client.request<AuditPage>('GET', '/audit-events', { query: { ...filters, cursor } });
        found.push(...page.events);
        cursor = page.nextCursor ?? undefined;
      } while (options.all && cursor);
      if (json) return printJson({ events: found, nextCursor: page.nextCursor });
      if (found.length === 0) printLine('No audit events.');
      else {
        printTable(
          ['TIME', 'TYPE', 'ACTOR', 'NAMESPACE', 'CONNECTION', 'DETAILS'],
          found.map((e) => [e.occurredAt, e.type, actorText(e.actor), e.namespace ?? '', cell(e.connectionId, 40), cell(detailsText(e.details), 100)]),
        );
      }
      if (page.nextCursor) printLine(`More: --cursor ${page.nextCursor} (or --all)`);
    });
}
