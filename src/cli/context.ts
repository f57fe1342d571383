import { Command } from 'commander';
import { loadClientConfig } from '../config.ts';
import { positiveInteger } from './arguments.ts';
import { UsageError } from './errors.ts';
import { createHttpClient, type HttpClient } from './http-client.ts';

/** The options every command accepts, before the command name or after it. */
export type CommonOptions = { url?: string; apiKey?: string; json?: boolean; timeout?: number };

const OPTION_HELP = {
  url: 'the Switchboard server (default: SWITCHBOARD_URL, else http://127.0.0.1:8080)',
  apiKey: 'an API key or a service token (default: SWITCHBOARD_API_KEY)',
  timeout: 'seconds to wait for an answer (default 300)',
  json: 'print the JSON answer instead of a table',
};

/** Commands whose own `--url` is the server's address (on `connections add` it is the upstream's). */
const serverUrlOnCommand = new WeakSet<Command>();

export function addProgramOptions(program: Command): void {
  program
    .option('--url <url>', OPTION_HELP.url)
    .option('--api-key <key>', OPTION_HELP.apiKey)
    .option('--timeout <seconds>', OPTION_HELP.timeout, positiveInteger(86_400))
    .option('--json', OPTION_HELP.json);
}

/**
 * Lets every command also take the common options after its name (`switchboard namespaces list
 * --json`), the way people type them. Program options are positional (they must come before
 * the command name) because `connections add --url` names the upstream, not the server.
 */
export function addCommonOptions(command: Command, kind: 'http' | 'database'): void {
  for (const leaf of command.commands.length ? command.commands : [command]) {
    const has = (flag: string) => leaf.options.some((option) => option.long === flag);
    if (!has('--json')) leaf.option('--json', OPTION_HELP.json);
    if (kind === 'database') continue;
    if (!has('--url')) {
      leaf.option('--url <url>', OPTION_HELP.url);
      serverUrlOnCommand.add(leaf);
    }
    if (!has('--api-key')) leaf.option('--api-key <key>', OPTION_HELP.apiKey);
    if (!has('--timeout')) leaf.option('--timeout <seconds>', OPTION_HELP.timeout, positiveInteger(86_400));
  }
}

/** The program's options overridden by the command's own (commander's optsWithGlobals does the reverse). */
export function commonOptionsOf(command: Command): CommonOptions {
  const own = command.opts<CommonOptions>();
  let root = command;
  while (root.parent) root = root.parent;
  const program = root.opts<CommonOptions>();
  return {
    url: (serverUrlOnCommand.has(command) ? own.url : undefined) ?? program.url,
    apiKey: own.apiKey ?? program.apiKey,
    timeout: own.timeout ?? program.timeout,
    json: own.json ?? program.json,
  };
}

/**
 * The client for commands that talk to a running server: `--url`/`--api-key` win over
 * SWITCHBOARD_URL/SWITCHBOARD_API_KEY. Needs no database setting at all.
 */
export function httpContext(command: Command): { client: HttpClient; json: boolean } {
  const options = commonOptionsOf(command);
  const config = loadClientConfig();
  const baseUrl = options.url ?? config.url;
  let parsed: URL | undefined;
  try {
    parsed = new URL(baseUrl);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new UsageError('--url must be an http(s) URL such as http://127.0.0.1:8080');
  }
  const apiKey = options.apiKey ?? config.apiKey;
  if (!apiKey) throw new UsageError('no API key: set SWITCHBOARD_API_KEY or pass --api-key (an API key or a service token)');
  return { client: createHttpClient({ baseUrl, apiKey, timeoutMs: (options.timeout ?? 300) * 1000 }), json: options.json === true };
}
