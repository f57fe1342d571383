import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/processes.ts';
import { canary } from '../helpers/canary.ts';
import { expectOneLineError, sb, type CliRun as Result } from '../helpers/cli-process.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * The `switchboard` bin as a user runs it, against a real server and a real upstream MCP
 * server: every command is a child process (so each costs a Node start: they run in
 * parallel wherever they do not depend on each other).
 */

describe('switchboard CLI over HTTP', { timeout: 120_000 }, () => {
  let server: TestServer;
  let upstream: Upstream;
  let key: string;
  let env: Record<string, string>;
  const upstreamKey = canary('cli-upstream-key');
  const ns = 'cli-team';
  let connected: string;

  const run = (args: string[], input?: string) => sb(args, { env, ...(input === undefined ? {} : { input }) });
  const json = <T>(result: Result): T => {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(''); // no spinner when stderr is not a terminal
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    [server, upstream] = await Promise.all([startTestServer(), startFixtureUpstream('sessions', { requireApiKey: upstreamKey, configSchema: true })]);
    key = (await server.newAccount('cli')).key;
    env = { SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: key };
  });
  afterAll(async () => {
    await upstream?.stop();
    await server?.close();
  });

  it('creates a namespace and adds connections with headers and metadata, showing their status', async () => {
    expect(json<{ name: string }>(await run(['namespaces', 'create', ns, '--json'])).name).toBe(ns);

    const [added, incomplete] = await Promise.all([
      run(['connections', 'add', ns, '--url', `${upstream.url}?region=eu`, '--name', 'Echo server', '--header', `x-api-key=${upstreamKey}`, '--metadata', 'user=alice', '--metadata', 'team=red']),
      run(['connections', 'add', ns, '--id', 'needs-setup', '--url', upstream.url, '--metadata', 'user=bob', '--json']),
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/^status: +connected$/m);
    expect(added.stdout).toMatch(/^name: +Echo server$/m);
    // jsonb keeps its own key order.
    expect(added.stdout).toMatch(/^metadata: +(team=red user=alice|user=alice team=red)$/m);
    expect(added.stdout).toMatch(/^server: +Test fixture 1\.2\.3$/m);
    expect(added.stdout).not.toContain(upstreamKey);
    connected = /^id: +(\S+)$/m.exec(added.stdout)![1]!;

    // --id goes through PUT: the chosen id, and the status says what is missing.
    const setup = json<{ connectionId: string; status: { state: string; missing: { headers: string[]; query: string[] } } }>(incomplete);
    expect(setup.connectionId).toBe('needs-setup');
    expect(setup.status).toMatchObject({ state: 'input_required', missing: { headers: ['x-api-key'], query: ['region'] } });
  });

  it('lists connections as a table, as JSON, filtered by metadata and across pages; gets one', async () => {
    const [table, byMetadata, allPages, onePage, one] = await Promise.all([
      run(['connections', 'list', ns]),
      run(['connections', 'list', ns, '--metadata', 'user=alice', '--json']),
      run(['connections', 'list', ns, '--limit', '1', '--all', '--json']),
      run(['connections', 'list', ns, '--limit', '1']),
      run(['connections', 'get', ns, 'needs-setup']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +STATUS +URL +METADATA +DETAIL$/);
    expect(lines).toHaveLength(3);
    // Aligned: every row's status starts where the STATUS header does.
    const statusColumn = lines[0]!.indexOf('STATUS');
    expect(lines.slice(1).map((line) => line.slice(statusColumn).split(' ')[0]).sort()).toEqual(['connected', 'input_required']);
    expect(table.stdout).toMatch(/input_required .*missing header x-api-key, query region/);

    expect(json<{ connections: { connectionId: string }[] }>(byMetadata).connections.map((c) => c.connectionId)).toEqual([connected]);
    const all = json<{ connections: { connectionId: string }[]; nextCursor: string | null }>(allPages);
    expect(all.connections.map((c) => c.connectionId).sort()).toEqual([connected, 'needs-setup'].sort());
    expect(all.nextCursor).toBeNull();
    expect(onePage.code).toBe(0);
    expect(onePage.stdout).toMatch(/^More: --cursor \S+ \(or --all\)$/m);

    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^status: +input_required$/m);
    expect(one.stdout).toMatch(/^detail: +missing header x-api-key, query region/m);
  });

  it('lists and calls tools, with arguments as JSON and from stdin', async () => {
    const [table, listed, echo, fromStdin, failed, slashed] = await Promise.all([
      run(['tools', 'list', ns, connected]),
      run(['tools', 'list', ns, connected, '--json']),
      run(['tools', 'call', ns, connected, 'echo', '{"message":"hello from the CLI"}']),
      run(['tools', 'call', ns, connected, 'add', '-', '--json'], '{"a": 2, "b": 40}'),
      run(['tools', 'call', ns, connected, 'fail']),
      run(['tools', 'call', ns, connected, 'github/create_issue', '{"title":"t1"}']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^TOOL +ARGUMENTS +DESCRIPTION$/m);
    expect(table.stdout).toMatch(/^echo +message +Echoes the message$/m);
    expect(table.stdout).toMatch(/^add +a b +Adds two numbers$/m);
    expect(json<{ tools: { name: string }[] }>(listed).tools.map((t) => t.name)).toContain('github/create_issue');

    expect(echo).toEqual({ code: 0, stdout: 'Echo: hello from the CLI\n', stderr: '' });
    expect(json<{ content: { text: string }[] }>(fromStdin).content[0]!.text).toBe('42');
    expect(slashed).toMatchObject({ code: 0, stdout: 'created t1\n' });
    // The tool ran and said it failed: its text on stdout, the failure in the exit code.
    expect(failed.stdout).toBe('this tool failed on purpose\n');
    expectOneLineError(failed, 1, /the tool fail reported an error/);
  });

  // util-linux `script` gives the command a terminal: the one case where a spinner is drawn.
  it.runIf(fs.existsSync('/usr/bin/script'))('shows a spinner on a terminal while it waits on the upstream, and clears it', async () => {
    const bin = path.join(projectRoot, 'bin', 'switchboard.js');
    const result = await new Promise<Result>((resolve, reject) => {
      const child = spawn('/usr/bin/script', ['-q', '-e', '-c', `${process.execPath} ${bin} tools list ${ns} ${connected}`, '/dev/null'], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
      child.stdin.end();
    });
    expect(result.code).toBe(0);
    const spinner = result.stdout.indexOf(`\r⠋ Listing the tools of ${connected}`);
    const cleared = result.stdout.indexOf('\r\x1b[K');
    const table = result.stdout.indexOf('TOOL');
    expect(spinner).toBeGreaterThanOrEqual(0);
    expect(cleared).toBeGreaterThan(spinner);
    expect(table).toBeGreaterThan(cleared);
  });

  it('mints tokens from flags and from a JSON policy; each reaches only what it grants', async () => {
    const [fromFlags, fromPolicy, badPolicy] = await Promise.all([
      run(['tokens', 'mint', '--namespace', ns, '--resource', 'connections', '--operation', 'read', '--ttl', '10m', '--json']),
      run(['tokens', 'mint', '--policy', JSON.stringify({ namespaces: ns, metadata: { user: 'bob' }, operations: ['read'] })]),
      run(['tokens', 'mint', '--operation', 'fly']),
    ]);
    const minted = json<{ token: string; expiresAt: string }>(fromFlags);
    const lifetime = Date.parse(minted.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(5 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(10 * 60_000);
    expect(fromPolicy.code, fromPolicy.stderr).toBe(0);
    const [policyToken, expiry] = fromPolicy.stdout.trimEnd().split('\n');
    expect(expiry).toMatch(/^expires \d{4}-\d\d-\d\dT/);
    expectOneLineError(badPolicy, 1, /^switchboard: 400 validation_error: .*read, write, execute/);

    const withToken = (token: string, args: string[]) => sb(args, { env: { SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: token } });
    const [canList, cannotRemove, seesOnlyBob, flagToken] = await Promise.all([
      withToken(minted.token, ['connections', 'list', ns, '--json']),
      withToken(minted.token, ['connections', 'remove', ns, connected]),
      withToken(policyToken!, ['connections', 'list', ns, '--json']),
      // --api-key wins over SWITCHBOARD_API_KEY.
      sb(['--url', server.url, 'connections', 'get', ns, connected, '--api-key', minted.token, '--json'], { env: { SWITCHBOARD_API_KEY: 'sk_not_this' } }),
    ]);
    expect(json<{ connections: unknown[] }>(canList).connections).toHaveLength(2);
    expectOneLineError(cannotRemove, 1, /^switchboard: 403 forbidden: /);
    expect(json<{ connections: { connectionId: string }[] }>(seesOnlyBob).connections.map((c) => c.connectionId)).toEqual(['needs-setup']);
    expect(json<{ connectionId: string }>(flagToken).connectionId).toBe(connected);
  });

  it('revokes tokens by the token (from stdin) and by id; lists audit events with the API filters', async () => {
    const minted = json<{ token: string }>(await run(['tokens', 'mint', '--ttl', '10m', '--json']));
    const byToken = await run(['tokens', 'revoke', '--token', '-'], minted.token);
    expect(byToken.code, byToken.stderr).toBe(0);
    const revokedId = /^Revoked token (tok_\S+)\.$/.exec(byToken.stdout.trim())?.[1];
    expect(revokedId).toBeDefined();
    expect(byToken.stdout).not.toContain(minted.token);
    expectOneLineError(await sb(['namespaces', 'list'], { env: { SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: minted.token } }), 1, /^switchboard: 401 /);

    // Token ids are in the audit log: every mint so far, newest first.
    const mints = json<{ events: { type: string; details: { tokenId: string } }[] }>(await run(['audit', 'list', '--type', 'token.minted', '--json']));
    expect(mints.events.every((event) => event.type === 'token.minted')).toBe(true);
    expect(mints.events.map((event) => event.details.tokenId)).toContain(revokedId);
    const otherId = mints.events.map((event) => event.details.tokenId).find((id) => id !== revokedId)!;
    const [byId, unknown, neither, both] = await Promise.all([
      run(['tokens', 'revoke', otherId, '--json']),
      run(['tokens', 'revoke', 'tok_nosuchtoken']),
      run(['tokens', 'revoke']),
      run(['tokens', 'revoke', otherId, '--token', 'x']),
    ]);
    expect(json(byId)).toEqual({ success: true, id: otherId });
    expectOneLineError(unknown, 1, /^switchboard: 404 not_found: No token with id tok_nosuchtoken/);
    expectOneLineError(neither, 2, /give the token id, or --token/);
    expectOneLineError(both, 2, /give the token id, or --token/);

    const [table, revocations, onePerPage, ofNamespace, badType] = await Promise.all([
      run(['audit', 'list']),
      run(['audit', 'list', '--type', 'token.revoked', '--json']),
      run(['audit', 'list', '--type', 'token.revoked', '--limit', '1', '--all', '--json']),
      run(['audit', 'list', '--namespace', ns, '--type', 'connection.credentials_set', '--since', '2020-01-01T00:00:00Z', '--json']),
      run(['audit', 'list', '--type', 'bogus']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME +TYPE +ACTOR +NAMESPACE +CONNECTION +DETAILS$/);
    expect(table.stdout).toMatch(new RegExp(`^\\d{4}-\\S+ +token\\.revoked +api_key \\S+ +tokenId=${otherId}$`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^\\d{4}-\\S+ +connection\\.credentials_set +api_key \\S+ +${ns} +${connected} +created=true headerNames=\\["x-api-key"\\]`, 'm'));
    expect(table.stdout).not.toContain(upstreamKey);
    const revoked = json<{ events: { details: { tokenId: string } }[] }>(revocations).events.map((event) => event.details.tokenId);
    expect(revoked).toEqual([otherId, revokedId]);
    expect(json<{ events: { details: { tokenId: string } }[] }>(onePerPage).events.map((event) => event.details.tokenId)).toEqual(revoked);
    const credentialEvents = json<{ events: { namespace: string; connectionId: string }[] }>(ofNamespace).events;
    // needs-setup was added without a credential: no event for it.
    expect(credentialEvents.map((event) => event.connectionId)).toEqual([connected]);
    expect(credentialEvents.every((event) => event.namespace === ns)).toBe(true);
    expectOneLineError(badType, 1, /^switchboard: 400 validation_error: .*token\.minted/);
  });

  it('removes connections and namespaces', async () => {
    const [removed, generated, listed] = await Promise.all([
      run(['connections', 'remove', ns, connected]),
      run(['namespaces', 'create']),
      run(['namespaces', 'list']),
    ]);
    expect(removed).toEqual({ code: 0, stdout: `Removed connection ${connected}.\n`, stderr: '' });
    const name = generated.stdout.trim();
    expect(name).toMatch(/^[a-z0-9-]{3,39}$/);
    expect(listed.stdout.split('\n')[0]).toMatch(/^NAME +CREATED$/);
    expect(listed.stdout).toMatch(new RegExp(`^${ns} +\\d{4}-`, 'm'));

    const [gone, deleted, deletedGenerated] = await Promise.all([
      run(['connections', 'get', ns, connected]),
      run(['namespaces', 'delete', ns]),
      run(['namespaces', 'delete', name, '--json']),
    ]);
    expectOneLineError(gone, 1, /^switchboard: 404 not_found: /);
    expect(deleted.stdout).toBe(`Deleted namespace ${ns} and its connections.\n`);
    expect(json(deletedGenerated)).toEqual({ success: true, name });
    expect(json<{ namespaces: { name: string }[] }>(await run(['namespaces', 'list', '--json'])).namespaces).toEqual([]);
  });

  it('fails with one line and the right exit code: wrong key, unreachable server, bad JSON, bad usage', async () => {
    const wrongKey = canary('wrong-key');
    const port = await freePort();
    const nowhere = `http://127.0.0.1:${port}`;
    // A server that accepts and never answers.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const malformedHeader = canary('header-value');
    const results = await Promise.all([
      sb(['namespaces', 'list'], { env: { SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: wrongKey } }),
      run(['--url', nowhere, 'namespaces', 'list']),
      // Bad JSON is refused before any request: the server it would go to does not even exist.
      run(['--url', nowhere, 'tools', 'call', ns, 'c1', 'echo', '{"message": nope}']),
      run(['--url', nowhere, 'tools', 'call', ns, 'c1', 'echo', '-'], 'not json'),
      run(['--url', nowhere, 'tools', 'call', ns, 'c1', 'echo', '[1,2]']),
      run(['--url', nowhere, 'tokens', 'mint', '--policy', '{oops']),
      run(['frobnicate']),
      run(['connections', 'list', ns, '--bogus']),
      run(['connections', 'add', ns]),
      sb(['namespaces', 'list'], { env: { SWITCHBOARD_URL: server.url } }),
      run(['--help']),
      run(['tools', 'call', '--help']),
      run(['--url', silentUrl, '--timeout', '1', 'namespaces', 'list']),
      run(['namespaces', 'list', '--url', 'ftp://example.com']),
      sb(['namespaces', 'list'], { env: { SWITCHBOARD_URL: 'not a url', SWITCHBOARD_API_KEY: key } }),
      run(['connections', 'add', ns, '--url', upstream.url, '--header', malformedHeader]),
      run(['connections']),
    ]).finally(() => silent.close());
    const [unauthorized, unreachable, badJson, badStdin, notObject, badPolicy, unknown, unknownOption, missingUrl, noKey, help, callHelp, timedOut, badUrl, badUrlEnv, badHeader, bareGroup] = results;
    expectOneLineError(timedOut!, 1, new RegExp(`^switchboard: cannot reach ${silentUrl}/namespaces.*: no answer within 1 s\n`));
    expectOneLineError(badUrl!, 2, /--url must be an http\(s\) URL/);
    expectOneLineError(badUrlEnv!, 2, /SWITCHBOARD_URL: must be an http\(s\) URL/);
    expectOneLineError(badHeader!, 2, /--header needs KEY=VALUE/);
    expect(badHeader!.stderr).not.toContain(malformedHeader);
    // A group without its subcommand: its help, as a usage error.
    expect(bareGroup!.code).toBe(2);
    expect(bareGroup!.stderr).toMatch(/^Usage: switchboard connections \[options\] \[command\]/);
    expectOneLineError(unauthorized!, 1, /^switchboard: 401 unauthorized: /);
    expect(`${unauthorized!.stdout}${unauthorized!.stderr}`).not.toContain(wrongKey);
    expectOneLineError(unreachable!, 1, new RegExp(`^switchboard: cannot reach ${nowhere}/namespaces.*ECONNREFUSED`));
    expect(unreachable!.stderr).not.toContain(key);
    expectOneLineError(badJson!, 2, /the tool arguments is not valid JSON/);
    expectOneLineError(badStdin!, 2, /the tool arguments from stdin is not valid JSON/);
    expectOneLineError(notObject!, 2, /must be a JSON object/);
    expectOneLineError(badPolicy!, 2, /--policy is not valid JSON/);
    expectOneLineError(unknown!, 2, /unknown command 'frobnicate'/);
    expectOneLineError(unknownOption!, 2, /unknown option '--bogus'/);
    expectOneLineError(missingUrl!, 2, /required option '--url <mcp-url>' not specified/);
    expectOneLineError(noKey!, 2, /no API key: set SWITCHBOARD_API_KEY or pass --api-key/);
    expect(help!.code).toBe(0);
    for (const command of ['namespaces', 'connections', 'tools', 'tokens', 'audit', 'accounts', 'api-keys', 'oauth-clients', 'keys', 'serve', 'migrate']) {
      expect(help!.stdout).toContain(command);
    }
    expect(callHelp!.code).toBe(0);
    expect(callHelp!.stdout).toMatch(/Usage: switchboard tools call \[options\] <namespace> <id> <tool> \[arguments\]/);
    for (const result of results) expect(`${result.stdout}${result.stderr}`).not.toContain(key);
  });
});
