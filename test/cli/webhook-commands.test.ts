import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort } from '../helpers/upstreams.ts';
import { eventOf, eventually, webhookClient } from '../webhooks/webhook-client.ts';
import { startReceiver, type Receiver } from '../webhooks/webhook-receiver.ts';
import { expectOneLineError, sb, type CliRun as Result } from '../helpers/cli-process.ts';

/**
 * `switchboard webhooks …` as a user runs it: the real bin in a child process, a real server,
 * and a real receiver on loopback that checks every signature with the `standardwebhooks` library.
 */

describe('switchboard webhooks', { timeout: 60_000 }, () => {
  let server: TestServer;
  let receiver: Receiver;
  let key: string;
  let env: Record<string, string>;
  let hookId: string;
  let secret: string;
  const ns = 'cli-hooks';

  const run = (args: string[]) => sb(args, { env });
  const json = <T>(result: Result): T => {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    [server, receiver] = await Promise.all([startTestServer(), startReceiver()]);
    key = (await server.newAccount('cli-hooks')).key;
    env = { SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: key };
    expect((await server.request(`/namespaces/${ns}`, { method: 'PUT', bearer: key })).status).toBe(201);
  });
  afterAll(async () => {
    await receiver?.close();
    await server?.close();
  });

  it('adds a webhook, printing its secret once; list and get never show it', async () => {
    // The server's address before the command: `add --url` is the receiver's.
    const added = await sb(['--url', server.url, 'webhooks', 'add', ns, '--url', receiver.url, '--event', 'connection.deleted', '--description', 'my app'], { env: { SWITCHBOARD_API_KEY: key } });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toBe('');
    const [created, , shown, , store] = added.stdout.split('\n');
    hookId = /^Created webhook (wh_[a-z2-7]{16}) for (\S+) \(connection\.deleted\)\.$/.exec(created!)![1]!;
    expect(created).toContain(receiver.url);
    secret = shown!.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(store).toMatch(/^Store it now: .*will not be shown again\.$/);
    expect(added.stdout.split(secret)).toHaveLength(2);
    receiver.secret = secret;

    const [raw, table, listed, one, oneJson] = await Promise.all([
      run(['webhooks', 'add', ns, '--url', `${receiver.url}?second`, '--json']),
      run(['webhooks', 'list', ns]),
      run(['webhooks', 'list', ns, '--json']),
      run(['webhooks', 'get', ns, hookId]),
      run(['webhooks', 'get', ns, hookId, '--json']),
    ]);
    const second = json<{ webhookId: string; events: null; secret: string }>(raw);
    expect(second).toMatchObject({ webhookId: expect.stringMatching(/^wh_/), events: null, secret: expect.stringMatching(/^whsec_/) });

    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +URL +EVENTS +CREATED +DESCRIPTION$/);
    expect(table.stdout).toMatch(new RegExp(`^${hookId} +${receiver.url} +connection\\.deleted +\\d{4}-\\S+ +my app$`, 'm'));
    expect(json<{ webhooks: { webhookId: string }[] }>(listed).webhooks.map((w) => w.webhookId)).toContain(hookId);
    expect(one.stdout).toMatch(/^events: +connection\.deleted$/m);
    expect(one.stdout).toMatch(/^description: +my app$/m);
    expect(json<{ url: string }>(oneJson).url).toBe(receiver.url);
    for (const result of [table, listed, one, oneJson]) {
      expect(result.stdout).not.toContain(secret.slice(6));
      expect(result.stdout).not.toContain(second.secret.slice(6));
      expect(result.stdout).not.toContain('whsec_');
    }
    expect(json(await run(['webhooks', 'remove', ns, second.webhookId, '--json']))).toEqual({ success: true });
  });

  it('test sends a signed webhook.test event; deliveries shows it succeeded, page by page', async () => {
    const [first, second] = [await run(['webhooks', 'test', ns, hookId]), await run(['webhooks', 'test', ns, hookId, '--json'])];
    expect(first.code, first.stderr).toBe(0);
    const eventId = /^Queued webhook\.test event (msg_\S+)\. See it with: switchboard webhooks deliveries /.exec(first.stdout)![1]!;
    const secondId = json<{ eventId: string; type: string }>(second).eventId;

    const got = await receiver.waitFor(2);
    expect(got.map((r) => r.headers['webhook-id']).sort()).toEqual([eventId, secondId].sort());
    for (const request of got) expect(eventOf(request).type).toBe('webhook.test');
    // The receiver answered; wait for the server to record it before asking the CLI.
    const client = webhookClient(server, key);
    await eventually(() => client.deliveriesOf(ns, hookId), (ds) => ds.every((d) => d.status === 'succeeded'));

    const [table, onePage, allPages] = await Promise.all([
      run(['webhooks', 'deliveries', ns, hookId]),
      run(['webhooks', 'deliveries', ns, hookId, '--limit', '1']),
      run(['webhooks', 'deliveries', ns, hookId, '--limit', '1', '--all', '--json']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^EVENT +TYPE +STATUS +ATTEMPTS +LAST RESPONSE +NEXT ATTEMPT$/);
    expect(lines).toHaveLength(3);
    expect(table.stdout).toMatch(new RegExp(`^${eventId} +webhook\\.test +succeeded +1 +200$`, 'm'));
    expect(onePage.stdout).toMatch(/^More: --cursor \S+ \(or --all\)$/m);
    const all = json<{ deliveries: { eventId: string; status: string; attempts: { responseStatus: number }[] }[]; nextCursor: null }>(allPages);
    expect(all.deliveries.map((d) => d.eventId)).toEqual([secondId, eventId]);
    expect(all.deliveries[0]!.attempts[0]!.responseStatus).toBe(200);
    expect(all.nextCursor).toBeNull();
  });

  it('removes a webhook: then it is gone', async () => {
    expect(await run(['webhooks', 'remove', ns, hookId])).toEqual({ code: 0, stdout: `Removed webhook ${hookId}.\n`, stderr: '' });
    const [gone, deliveries, listed] = await Promise.all([
      run(['webhooks', 'get', ns, hookId]),
      run(['webhooks', 'deliveries', ns, hookId]),
      run(['webhooks', 'list', ns]),
    ]);
    expectOneLineError(gone, 1, /^switchboard: 404 not_found: /);
    expectOneLineError(deliveries, 1, /^switchboard: 404 not_found: /);
    expect(listed).toEqual({ code: 0, stdout: `No webhooks. Add one with: switchboard webhooks add ${ns} --url URL\n`, stderr: '' });
  });

  it('fails with one line and the right exit code on bad input', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const token = json<{ token: string }>(await run(['tokens', 'mint', '--namespace', ns, '--json'])).token;
    const [badUrl, notHttp, badEvent, missingUrl, badLimit, tokenOnly, unreachable, help] = await Promise.all([
      run(['webhooks', 'add', ns, '--url', 'not a url']),
      run(['webhooks', 'add', ns, '--url', 'ftp://127.0.0.1/hook']),
      run(['webhooks', 'add', ns, '--url', receiver.url, '--event', 'connection.created']),
      run(['webhooks', 'add', ns]),
      run(['webhooks', 'deliveries', ns, 'wh_aaaaaaaaaaaaaaaa', '--limit', '0']),
      // Webhooks are for API keys only.
      sb(['webhooks', 'list', ns], { env: { SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: token } }),
      sb(['--url', nowhere, 'webhooks', 'add', ns, '--url', receiver.url], { env: { SWITCHBOARD_API_KEY: key } }),
      run(['--help']),
    ]);
    expectOneLineError(badUrl, 1, /^switchboard: 400 validation_error: url is not a valid absolute URL/);
    expectOneLineError(notHttp, 1, /^switchboard: 400 validation_error: url must use http or https/);
    expectOneLineError(badEvent, 1, /^switchboard: 400 validation_error: Unknown event type "connection\.created"/);
    expectOneLineError(missingUrl, 2, /required option '--url <webhook-url>' not specified/);
    expectOneLineError(badLimit, 2, /must be a whole number from 1 to 100/);
    expectOneLineError(tokenOnly, 1, /^switchboard: 403 forbidden: /);
    // The server URL came from before the command, not from the receiver's --url.
    expectOneLineError(unreachable, 1, new RegExp(`^switchboard: cannot reach ${nowhere}/namespaces/${ns}/webhooks.*ECONNREFUSED`));
    expect(help.stdout).toMatch(/^ {2}webhooks /m);
    expect(json<{ webhooks: unknown[] }>(await run(['webhooks', 'list', ns, '--json'])).webhooks).toEqual([]);
  });
});
