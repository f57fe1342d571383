import type { Connection } from '../core/connections/connection-view.ts';
import { cell, printFields, printTable } from './output.ts';

export type { Connection };

/** The state, and what the user must do about it: where to authorize, what is missing, what failed. */
export function describeStatus(status: Connection['status']): { state: string; detail: string } {
  switch (status.state) {
    case 'auth_required':
      return { state: status.state, detail: status.authorizationUrl ?? status.setupUrl ?? '' };
    case 'input_required': {
      const missing = [
        ...status.missing.headers.map((name) => `header ${name}`),
        ...status.missing.query.map((name) => `query ${name}`),
      ];
      return { state: status.state, detail: `missing ${missing.join(', ') || 'configuration'}${status.setupUrl ? ` (set up at ${status.setupUrl})` : ''}` };
    }
    case 'error':
      return { state: status.state, detail: status.message };
    default:
      return { state: status.state, detail: '' };
  }
}

const metadataText = (metadata: Connection['metadata']) =>
  metadata ? Object.entries(metadata).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ') : '';

export function printConnection(connection: Connection): void {
  const { state, detail } = describeStatus(connection.status);
  const server = connection.serverInfo;
  printFields([
    ['id', connection.connectionId],
    ['name', connection.name],
    ['url', connection.mcpUrl],
    ['status', state],
    [connection.status.state === 'auth_required' ? 'authorize at' : 'detail', detail],
    ['server', server ? `${server.title ?? server.name} ${server.version}` : undefined],
    ['metadata', metadataText(connection.metadata)],
    ['created', connection.createdAt],
  ]);
}

export function printConnectionTable(connections: Connection[]): void {
  printTable(
    ['ID', 'NAME', 'STATUS', 'URL', 'METADATA', 'DETAIL'],
    connections.map((c) => {
      const { state, detail } = describeStatus(c.status);
      // URLs the user must open are shown whole: a cut one is useless.
      return [cell(c.connectionId, 40), cell(c.name, 30), state, cell(c.mcpUrl, 50), cell(metadataText(c.metadata), 40), c.status.state === 'auth_required' ? detail : cell(detail, 80)];
    }),
  );
}
