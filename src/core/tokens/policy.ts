import type { MetadataCondition } from '../../db/queries/connections.ts';
import { metadataFilters, parseJsonScalar } from '../connections/list-query.ts';
import type { Constraint, TokenOperation } from './constraints.ts';
import { checkPattern, MAX_MATCHED_LENGTH } from './safe-regex.ts';

/**
 * The semantics of service-token policies (docs/contract.md, Service tokens), in two steps:
 *
 * 1. `decide` — from what a route declares (resource, operation, namespace): which
 *    constraints of each block could allow the request at all. None in some block: refused,
 *    as missing (404) when only the namespace was out of reach, else forbidden (403).
 * 2. The resulting `Scope` answers the questions that need the connection itself: may it be
 *    seen (metadata), may this JSON-RPC request run on it (metadata and rpcReqMatch, within
 *    one constraint), which connections does a listing show.
 *
 * A token is a chain of blocks; a request must pass every block (attenuation can only
 * narrow). Within a block, constraints are alternatives (OR); within a constraint, fields
 * AND — and a field that speaks about something the request does not have never holds:
 * `metadata` only grants access to connections, `rpcReqMatch` only grants `execute`.
 */
export type AccessRequest = {
  resource: 'namespaces' | 'connections' | 'tokens';
  operation: TokenOperation;
  /** The namespace the request is about, when it is about one. */
  namespace?: string;
};

/** One block's policy; null places no restriction (a root minted without a policy). */
export type Blocks = readonly (readonly Constraint[] | null)[];

/** Per restricted block, the constraints that may allow the request. No blocks: unrestricted. */
export type Scope = { readonly candidates: readonly (readonly Constraint[])[] };

export const UNRESTRICTED: Scope = { candidates: [] };

export type Decision = { ok: true; scope: Scope } | { ok: false; reason: 'hidden' | 'forbidden' };

export function decide(blocks: Blocks, request: AccessRequest): Decision {
  const restricted = blocks.filter((block): block is readonly Constraint[] => block !== null);
  // Missing (404) when some block reaches nothing at all in the namespace, whatever the order
  // of blocks; a namespace the token reaches but may not act on this way answers 403.
  if (request.namespace !== undefined && restricted.some((block) => !block.some((constraint) => grantsNamespace(constraint, request)))) {
    return { ok: false, reason: 'hidden' };
  }
  const candidates: Constraint[][] = [];
  for (const block of restricted) {
    const allowed = block.filter((constraint) => grantsKind(constraint, request) && grantsNamespace(constraint, request));
    if (allowed.length === 0) return { ok: false, reason: 'forbidden' };
    candidates.push(allowed);
  }
  return { ok: true, scope: { candidates } };
}

function grantsKind(constraint: Constraint, request: AccessRequest): boolean {
  if (constraint.resources && !constraint.resources.includes(request.resource as never)) return false;
  if (constraint.operations && !constraint.operations.includes(request.operation)) return false;
  if (constraint.metadata && request.resource !== 'connections') return false;
  if (constraint.rpcReqMatch && request.operation !== 'execute') return false;
  return true;
}

function grantsNamespace(constraint: Constraint, request: AccessRequest): boolean {
  if (!constraint.namespaces) return true;
  // A listing of namespaces is filtered afterwards; creating one with a generated name is not
  // within a list of names.
  if (request.namespace === undefined) return request.operation === 'read';
  return constraint.namespaces.includes(request.namespace);
}

/** The namespaces a listing may show; null for all of them. */
export function visibleNamespaces(scope: Scope): string[] | null {
  let visible: string[] | null = null;
  for (const block of scope.candidates) {
    if (block.some((constraint) => !constraint.namespaces)) continue;
    const names = new Set(block.flatMap((constraint) => constraint.namespaces ?? []));
    visible = (visible ?? [...names]).filter((name) => names.has(name));
  }
  return visible;
}

/** The condition on metadata that connections visible in this scope meet; undefined when there is none. */
export function connectionCondition(scope: Scope): MetadataCondition | undefined {
  const blocks: MetadataCondition[] = [];
  for (const block of scope.candidates) {
    if (block.some((constraint) => !constraint.metadata)) continue;
    blocks.push({ any: block.flatMap((constraint) => constraint.metadata!.map(metadataMapCondition)) });
  }
  return blocks.length > 0 ? { all: blocks } : undefined;
}

export function allowsConnection(scope: Scope, metadata: Record<string, unknown> | null): boolean {
  return scope.candidates.every((block) => block.some((constraint) => metadataHolds(constraint, metadata)));
}

/** Whether this JSON-RPC request (a REST tool call is mapped to its `tools/call`) may run on the connection. */
export function allowsCall(scope: Scope, metadata: Record<string, unknown> | null, rpcRequest: unknown): boolean {
  return scope.candidates.every((block) =>
    block.some((constraint) => metadataHolds(constraint, metadata) && rpcMatches(constraint, rpcRequest)),
  );
}

/**
 * Whether a JSON-RPC request that no single connection serves (the namespace toolbox answers
 * `initialize`, `ping`, notifications itself) may be sent: rpcReqMatch as in `allowsCall`, with
 * the metadata left to the connections it later reaches.
 */
export function allowsRequest(scope: Scope, rpcRequest: unknown): boolean {
  return scope.candidates.every((block) => block.some((constraint) => rpcMatches(constraint, rpcRequest)));
}

function metadataHolds(constraint: Constraint, metadata: Record<string, unknown> | null): boolean {
  return !constraint.metadata || constraint.metadata.some((map) => mapHolds(map, metadata));
}

/** What `metadataMapCondition(map)` means, evaluated without building it (this runs per request). */
function mapHolds(map: Record<string, string>, metadata: Record<string, unknown> | null): boolean {
  for (const key in map) {
    if (metadata === null || !Object.hasOwn(metadata, key)) return false;
    const have = metadata[key];
    const want = map[key]!;
    if (have !== want && (typeof have === 'string' || parseJsonScalar(want) !== have)) return false;
  }
  return true;
}

/** A map `{userId: "alice"}` holds of metadata with that string, or with the number/boolean it spells. */
function metadataMapCondition(map: Record<string, string>): MetadataCondition {
  return { all: metadataFilters(map).map((alternatives) => ({ any: alternatives.map((contains) => ({ contains })) })) };
}

/** The same containment the database evaluates (`metadata @> …`), for flat maps of scalars. */
export function matchesMetadata(condition: MetadataCondition, metadata: Record<string, unknown> | null): boolean {
  if ('all' in condition) return condition.all.every((inner) => matchesMetadata(inner, metadata));
  if ('any' in condition) return condition.any.some((inner) => matchesMetadata(inner, metadata));
  return metadata !== null && Object.entries(condition.contains).every(([key, value]) => Object.hasOwn(metadata, key) && metadata[key] === value);
}

function rpcMatches(constraint: Constraint, rpcRequest: unknown): boolean {
  if (!constraint.rpcReqMatch) return true;
  return Object.entries(constraint.rpcReqMatch).every(([path, source]) => {
    const value = valueAt(rpcRequest, path);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return false;
    const text = String(value);
    return text.length <= MAX_MATCHED_LENGTH && compiled(source).test(text);
  });
}

function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const patterns = new Map<string, RegExp>();

/** Patterns were checked when the token was opened; compiled once per process. */
function compiled(source: string): RegExp {
  let regex = patterns.get(source);
  if (!regex) {
    const check = checkPattern(source);
    // Unreachable for a verified token; refuse rather than run an unchecked pattern.
    regex = check.ok ? check.regex : /(?!)/;
    if (patterns.size > 10_000) patterns.clear();
    patterns.set(source, regex);
  }
  return regex;
}
