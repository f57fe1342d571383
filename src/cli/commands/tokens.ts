import type { Command } from 'commander';
import { collectList, collectRaw, isPlainObject, readJsonArgument, readStdin, toPairs } from '../arguments.ts';
import { httpContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { printJson, printLine } from '../output.ts';

type MintOptions = {
  namespace?: string[];
  resource?: string[];
  operation?: string[];
  metadata?: string[];
  ttl?: string;
  rpcMatch?: string[];
  policy?: string;
};

/** One constraint from the flags; the server checks every value (names, enums, patterns, TTL). */
function constraintFromFlags(options: MintOptions): Record<string, unknown> | undefined {
  const constraint: Record<string, unknown> = {};
  if (options.namespace) constraint.namespaces = options.namespace;
  if (options.resource) constraint.resources = options.resource;
  if (options.operation) constraint.operations = options.operation;
  if (options.metadata) constraint.metadata = toPairs(options.metadata, '--metadata');
  if (options.rpcMatch) constraint.rpcReqMatch = toPairs(options.rpcMatch, '--rpc-match');
  if (options.ttl !== undefined) constraint.ttl = /^\d+$/.test(options.ttl) ? Number(options.ttl) : options.ttl;
  return Object.keys(constraint).length ? constraint : undefined;
}

export function registerTokenCommands(program: Command): void {
  const tokens = program.command('tokens').description('Mint and revoke service tokens (over HTTP)');

  tokens
    .command('mint')
    .description('Mint a service token; without a policy it has your full reach for 1 hour')
    .addHelpText(
      'after',
      `
Examples:
  switchboard tokens mint --namespace my-team --metadata userId=alice --operation read,execute --ttl 30m
  switchboard tokens mint --policy '[{"namespaces":"my-team","rpcReqMatch":{"params.name":"^echo$"}}]' --json`,
    )
    .option('--namespace <name>', 'only these namespaces (repeatable or comma-separated)', collectList)
    .option('--resource <resource>', 'only connections, namespaces, servers or skills (repeatable or comma-separated)', collectList)
    .option('--operation <operation>', 'only read, write or execute (repeatable or comma-separated)', collectList)
    .option('--metadata <key=value>', 'only connections whose metadata holds every such pair (repeatable)', collectRaw)
    .option('--rpc-match <path=regex>', 'MCP requests whose JSON-RPC body matches, e.g. params.name=^echo$ (repeatable)', collectRaw)
    .option('--ttl <ttl>', 'lifetime: seconds, or 20s, 30m, 1h (default 1h, at most 24h)')
    .option('--policy <json>', 'the whole policy as JSON: one constraint or an array of them (- reads stdin); instead of the flags above')
    .action(async (options: MintOptions, command: Command) => {
      const fromFlags = constraintFromFlags(options);
      let policy: unknown[] | undefined = fromFlags ? [fromFlags] : undefined;
      if (options.policy !== undefined) {
        if (fromFlags) throw new UsageError('give the policy either as --policy JSON or with flags, not both');
        const parsed = await readJsonArgument(options.policy, '--policy');
        if (!Array.isArray(parsed) && !isPlainObject(parsed)) throw new UsageError('--policy must be a JSON object (one constraint) or an array of them');
        policy = Array.isArray(parsed) ? parsed : [parsed];
      }
      const { client, json } = httpContext(command);
      const minted = await client.request<{ token: string; expiresAt: string }>('POST', '/tokens', { body: policy ? { policy } : {} });
      if (json) return printJson(minted);
      // The token alone on the first line, so `| head -1` or `$(…)` style use stays easy.
      printLine(minted.token);
      printLine(`expires ${minted.expiresAt}`);
    });

  tokens
    .command('revoke')
    .argument('[token-id]', 'the token id (tok_…, from audit list --type token.minted)')
    .option('--token <token>', 'the token itself instead of its id; - reads it from stdin (keeps it out of the process list)')
    .description('Revoke a service token before it expires, and every token minted from it (API keys only)')
    .addHelpText(
      'after',
      `
Examples:
  switchboard tokens revoke tok_3k7q2m5x9v
  printf %s "$TOKEN" | switchboard tokens revoke --token -`,
    )
    .action(async (id: string | undefined, options: { token?: string }, command: Command) => {
      if ((id === undefined) === (options.token === undefined)) throw new UsageError('give the token id, or --token with the token itself (not both)');
      const token = options.token === '-' ? (await readStdin()).trim() : options.token;
      if (token === '') throw new UsageError('--token - read nothing from stdin');
      const { client, json } = httpContext(command);
      const answer = await client.request<{ success: true; id: string }>('POST', '/tokens/revoke', { body: token === undefined ? { id } : { token } });
      if (json) return printJson(answer);
      printLine(`Revoked token ${answer.id}.`);
    });
}
