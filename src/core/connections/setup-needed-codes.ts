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
