import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Run on every `npm ci` / `npm install` (the root "postinstall" script): fixes we carry for a
 * dependency until a release of its own has them. Each replaces text we have read, in the exact
 * version it was written for; anything else stops the install, loudly, for a person to look.
 * Applying it twice changes nothing.
 *
 * postgres.js 3.4.9 (the latest release) defers small writes to a setImmediate, and its teardown
 * (closed, terminate) cancels that immediate without forgetting it or the bytes it was to send
 * (porsager/postgres#1208, #1154). A connection whose socket closed while a write waited then
 * never arms a write again: on reconnecting, its startup message is never sent and every query
 * routed to it waits for CONNECT_TIMEOUT, again and again (a PostgreSQL restart under load hits
 * it). And a write queued on a reserved connection whose socket already closed runs on a null
 * socket: an uncaught TypeError that ends the process, and a query that never settles.
 *
 * Each new connection first looks up the server's array types, and drops that lookup's promise
 * (porsager/postgres#1192, #1223): a connection lost during the lookup (a restart, a network cut)
 * is an unhandled rejection, which ends the process. The lookup's failure is its connection's,
 * which the pool already handles: the waiting query fails and the connection is made anew.
 *
 * Its pool strands reservations (Kysely takes every connection with reserve()), #1195. A
 * connection that closes while a reserve() waits reconnects for that reservation, having taken
 * it off the queue, and once connected forgets it: the reserve() never settles (requests hang
 * after a restart, with the pool idle). And a reservation whose connection attempt failed (its
 * reserve() rejected) stays queued, to be handed the next connection that opens, which nobody
 * then holds or releases: the pool loses a connection for good. And a reservation whose
 * connection closed goes on sending its queries to that connection once the pool has reconnected
 * it for someone else: into another session (its transaction), or, mid-startup, answered with
 * the replies meant for other queries.
 */

export type Replacement = { original: string; patched: string };

export type DependencyPatch = {
  packageName: string;
  version: string;
  /** What to check in another version before dropping or rewriting the fix. */
  upstreamIssue: string;
  files: string[];
  replacements: Replacement[];
};

const marker = '// switchboard patch (scripts/patch-dependencies.ts):';

export const postgresConnection: DependencyPatch = {
  packageName: 'postgres',
  version: '3.4.9',
  upstreamIssue: 'porsager/postgres#1208, #1154 and #1192',
  // What `import` loads (src), what `require` loads (cjs), and the Cloudflare build (cf).
  files: ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js'],
  replacements: [
    {
      original: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)
    nextWriteTimer !== null && clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    return x
  }
`,
      patched: `  function nextWrite(fn) {
    if (!socket)
      return failUnwritable()
    const x = socket.write(chunk, fn)
    forgetWrite()
    return x
  }

  ${marker} a pending write and its bytes
  // belong to one socket; teardown forgets both, or the next socket never gets a write armed.
  function forgetWrite() {
    nextWriteTimer !== null && clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
  }

  ${marker} the socket closed before this
  // write's turn (a reserved connection used after its server went away). The bytes can go
  // nowhere: their queries fail as on a closed connection rather than wait forever.
  function failUnwritable() {
    forgetWrite()
    const err = Errors.connection('CONNECTION_CLOSED', options)
    query && queryError(query, err)
    while (sent.length)
      queryError(sent.shift(), err)
    return true
  }
`,
    },
    {
      original: `      if (needsTypes) {
        initial.reserve && (initial = null)
        return fetchArrayTypes()
      }
`,
      patched: `      if (needsTypes) {
        initial.reserve && (initial = null)
        ${marker} the lookup fails with
        // its connection, which fails the waiting query and is made anew; unobserved, it ended the process.
        return fetchArrayTypes().catch(() => {})
      }
`,
    },
    {
      original: `      error(Errors.connection('CONNECTION_DESTROYED', options))

    clearImmediate(nextWriteTimer)
    if (socket) {
`,
      patched: `      error(Errors.connection('CONNECTION_DESTROYED', options))

    forgetWrite() ${marker} was clearImmediate(nextWriteTimer)
    if (socket) {
`,
    },
    {
      original: `    incomings = null
    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)
`,
      patched: `    incomings = null
    forgetWrite() ${marker} was clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)
`,
    },
  ],
};

export const postgresReservations: DependencyPatch = {
  packageName: 'postgres',
  version: '3.4.9',
  upstreamIssue: 'porsager/postgres#1195 and #1199',
  files: ['src/index.js', 'cjs/src/index.js', 'cf/src/index.js'],
  replacements: [
    {
      original: `        const query = { reserve: resolve, reject }
`,
      patched: `        ${marker} a reservation
        // that failed leaves the queue, or the next connection to open is handed to nobody.
        const query = { reserve: resolve, reject: err => (queries.remove(query), reject(err)) }
`,
    },
    {
      original: `    queries.length && connect(c, queries.shift())
`,
      patched: `    ${marker} a reservation stays
    // queued while a connection is made for it, as reserve() does: onopen hands it one.
    if (queries.length) {
      const query = queries.shift()
      query.reserve && queries.push(query)
      connect(c, query)
    }
`,
    },
    {
      original: `    c.reserved.release = true

    const sql = Sql(handler)
`,
      patched: `    c.reserved.release = true
    const owner = c.reserved

    const sql = Sql(handler)
`,
    },
    {
      original: `    function handler(q) {
      c.queue === full
        ? queue.push(q)
        : c.execute(q) || move(c, full)
    }
`,
      patched: `    function handler(q) {
      ${marker} once its connection
      // closed (or it was released) the pool may have handed the connection to someone else.
      if (c.reserved !== owner)
        return q.reject(Errors.connection('CONNECTION_CLOSED', options))
      c.queue === full
        ? queue.push(q)
        : c.execute(q) || move(c, full)
    }
`,
    },
  ],
};

/**
 * trpc-to-openapi 3.3.0 (the latest release) builds a whole Fetch `Request` for every REST call,
 * headers copied and body wrapped, only to take its abort signal. undici registers each such
 * Request in a FinalizationRegistry, which V8's young-generation collector cannot clear: every
 * REST request's objects were promoted to the old generation (a listing measured p50 0.69 →
 * 0.64 ms, p99 3.7 → 3.3 ms without it). The signal alone is what the adapter needs.
 */
const requestSignal = (marker: string) => `${marker} the signal without a Request.
// Aborted when the response closes before it was sent whole (the client went away), as tRPC's
// own request signal is.`;
const signalBody = `    if (req instanceof Request) {
        return req.signal;
    }
    const controller = new AbortController();
    res.once('close', () => {
        if (!res.writableEnded)
            controller.abort();
    });
    return controller.signal;
};`;
const openApi = { packageName: 'trpc-to-openapi', version: '3.3.0', upstreamIssue: 'whether its getRequestSignal still builds a Request from a Node request' };

export const openApiRequestSignalEsm: DependencyPatch = {
  ...openApi,
  files: ['dist/esm/utils/method.mjs'],
  replacements: [
    {
      original: `export const getRequestSignal = (req, res, maxBodySize) => {
    if (req instanceof Request) {
        return req.signal;
    }
    return incomingMessageToRequest(req, res, {
        maxBodySize: maxBodySize ?? null,
    }).signal;
};`,
      patched: `${requestSignal(marker)}
export const getRequestSignal = (req, res) => {
${signalBody}`,
    },
  ],
};

export const openApiRequestSignalCjs: DependencyPatch = {
  ...openApi,
  files: ['dist/cjs/utils/method.js'],
  replacements: [
    {
      original: `const getRequestSignal = (req, res, maxBodySize) => {
    if (req instanceof Request) {
        return req.signal;
    }
    return (0, node_http_1.incomingMessageToRequest)(req, res, {
        maxBodySize: maxBodySize !== null && maxBodySize !== void 0 ? maxBodySize : null,
    }).signal;
};`,
      patched: `${requestSignal(marker)}
const getRequestSignal = (req, res) => {
${signalBody}`,
    },
  ],
};

export class PatchError extends Error {
  override name = 'PatchError';
}

export type PatchOutcome = { file: string; result: 'patched' | 'already patched' };

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

/** Applies `patch` to the package installed in `packageDir`; throws PatchError, writing nothing, unless every file is as expected. */
export function applyPatch(packageDir: string, patch: DependencyPatch): PatchOutcome[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  if (manifest.name !== patch.packageName || manifest.version !== patch.version) {
    throw new PatchError(
      `${packageDir} holds ${manifest.name}@${manifest.version}, but the fix in scripts/patch-dependencies.ts is for ${patch.packageName}@${patch.version}. ` +
        `Check whether that version fixes ${patch.upstreamIssue}, then drop or rewrite the fix (and pin the version in package.json).`,
    );
  }
  const updates = patch.files.map((file) => {
    const fullPath = path.join(packageDir, file);
    const before = fs.readFileSync(fullPath, 'utf8');
    let after = before;
    for (const { original, patched } of patch.replacements) {
      const [originals, patches] = [occurrences(after, original), occurrences(after, patched)];
      if (originals === 1 && patches === 0) after = after.replace(original, () => patched);
      else if (!(originals === 0 && patches === 1)) {
        throw new PatchError(
          `${fullPath} is not the ${patch.packageName}@${patch.version} the fix in scripts/patch-dependencies.ts was written for ` +
            `(found ${originals} copies of the text to replace and ${patches} of its replacement; expected 1 and 0, or 0 and 1):\n${original}`,
        );
      }
    }
    return { file, fullPath, before, after };
  });
  return updates.map(({ file, fullPath, before, after }) => {
    if (after === before) return { file, result: 'already patched' };
    const temporary = `${fullPath}.switchboard-patch`;
    fs.writeFileSync(temporary, after);
    fs.renameSync(temporary, fullPath);
    return { file, result: 'patched' };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  try {
    for (const patch of [postgresConnection, postgresReservations, openApiRequestSignalEsm, openApiRequestSignalCjs]) {
      for (const { file, result } of applyPatch(path.join(root, 'node_modules', patch.packageName), patch)) {
        process.stdout.write(`${patch.packageName}@${patch.version} ${file}: ${result}\n`);
      }
    }
  } catch (error) {
    process.stderr.write(`patch-dependencies: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
