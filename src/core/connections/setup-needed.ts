import type { ConnectionLinks } from './connection-links.ts';
import type { ConnectionRecord } from './connection-store.ts';

/**
 * The JSON-RPC error codes for a call that cannot go through until the connection's end user
 * acts (docs/contract.md, "Connection needs its end user"). They are Switchboard's own, from the
 * range JSON-RPC leaves to servers; the SDK's `ProtocolErrorCode` has the standard ones.
 */
export const SetupNeededCode = {
  /** The upstream wants the end user to authorize: `data.authorizationUrl` says where. */
  authorizationRequired: -32001,
  /** The connection lacks configuration the upstream needs: `data.http`, `data.missing`. */
  inputRequired: -32002,
} as const;

/** The error, and the HTTP status it goes with, for every MCP endpoint that answers it. */
export type SetupNeededError = { httpStatus: 401 | 409; code: number; message: string; data: Record<string, unknown> };

type Links = Pick<ConnectionLinks, 'urlFor' | 'setupUrlFor'>;

/** What a call to `connection` is answered with, without calling upstream, while it needs setup; undefined when it does not. */
export function setupNeededError(connection: ConnectionRecord, links: Links): SetupNeededError | undefined {
  const { status } = connection;
  if (status.state === 'auth_required') return authorizationRequiredError(connection, links);
  if (status.state === 'input_required') {
    return {
      httpStatus: 409,
      code: SetupNeededCode.inputRequired,
      message: 'Input required',
      data: { connectionId: connection.id, http: status.http, missing: status.missing, setupUrl: links.setupUrlFor(connection) },
    };
  }
  return undefined;
}

/** The upstream wants the end user to authorize (its status may not say so yet): where they do it, and the setup page. */
export function authorizationRequiredError(connection: ConnectionRecord, links: Links): SetupNeededError {
  return {
    httpStatus: 401,
    code: SetupNeededCode.authorizationRequired,
    message: 'Authorization required',
    data: { connectionId: connection.id, authorizationUrl: links.urlFor(connection), setupUrl: links.setupUrlFor(connection) },
  };
}
