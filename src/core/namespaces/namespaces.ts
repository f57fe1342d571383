import type { Db } from '../../db/open.ts';
import {
  countNamespaces,
  deleteOwnedNamespace,
  findNamespace,
  insertNamespaceIfFree,
  listNamespacesPage,
} from '../../db/queries/namespaces.ts';
import { AppError } from '../../errors.ts';
import type { Access } from '../auth/access.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { visibleNamespaces } from '../tokens/policy.ts';
import { namespaceNotFound, type NamespaceOwner } from './namespace-directory.ts';
import { checkNamespaceName, generateNamespaceName } from './names.ts';

export type Namespace = { name: string; createdAt: string };

export type NamespacePage = {
  namespaces: Namespace[];
  pagination: { currentPage: number; pageSize: number; totalPages: number; totalCount: number };
};

const GENERATE_ATTEMPTS = 8;

export async function createNamespace(db: Db, owner: NamespaceOwner): Promise<Namespace> {
  for (let attempt = 0; attempt < GENERATE_ATTEMPTS; attempt++) {
    const row = await insertNamespaceIfFree(db, { name: generateNamespaceName(), accountId: owner.accountId });
    if (row) return toNamespace(row);
  }
  throw new AppError('service_unavailable', 'Could not find a free namespace name; try again');
}

/** Creates the namespace, or returns it when the caller already owns it. */
export async function putNamespace(db: Db, owner: NamespaceOwner, name: string): Promise<Namespace> {
  const check = checkNamespaceName(name);
  if (!check.ok) throw new AppError('validation_error', check.reason);
  const created = await insertNamespaceIfFree(db, { name, accountId: owner.accountId });
  if (created) return toNamespace(created);
  const existing = await findNamespace(db, name);
  if (existing?.account_id === owner.accountId) return toNamespace(existing);
  // Deleted between our insert and read: the name is free again, so try once more.
  if (!existing) {
    const retried = await insertNamespaceIfFree(db, { name, accountId: owner.accountId });
    if (retried) return toNamespace(retried);
  }
  throw new AppError('conflict', `The namespace name "${name}" is already taken`);
}

export async function getNamespace(db: Db, owner: NamespaceOwner, name: string): Promise<Namespace> {
  const row = await findNamespace(db, name);
  // Another account's namespace answers exactly like a missing one.
  if (!row || row.account_id !== owner.accountId) throw namespaceNotFound(name);
  return toNamespace(row);
}

export async function listNamespaces(
  db: Db,
  access: Access,
  paging: { page: number; pageSize: number },
): Promise<NamespacePage> {
  // A token limited to some namespaces lists only those.
  const names = visibleNamespaces(access.scope) ?? undefined;
  const [totalCount, rows] = await Promise.all([
    countNamespaces(db, access.accountId, names),
    listNamespacesPage(db, {
      accountId: access.accountId,
      names,
      offset: (paging.page - 1) * paging.pageSize,
      limit: paging.pageSize,
    }),
  ]);
  return {
    namespaces: rows.map(toNamespace),
    pagination: {
      currentPage: paging.page,
      pageSize: paging.pageSize,
      totalPages: Math.ceil(totalCount / paging.pageSize),
      totalCount,
    },
  };
}

/** Deletes the namespace with its connections; every process drops them and their upstream sessions. */
export async function deleteNamespace(
  db: Db,
  changes: ChangeFeed,
  owner: NamespaceOwner,
  name: string,
): Promise<{ success: true; name: string }> {
  if (!(await deleteOwnedNamespace(db, { name, accountId: owner.accountId }))) throw namespaceNotFound(name);
  await changes.announce({ kind: 'namespace', name });
  return { success: true, name };
}

function toNamespace(row: { name: string; created_at: Date }): Namespace {
  return { name: row.name, createdAt: row.created_at.toISOString() };
}
