import { Command, CommanderError } from 'commander';
import { SWITCHBOARD_VERSION } from '../version.ts';
import { registerAccountCommands } from './commands/accounts.ts';
import { registerApiKeyCommands } from './commands/api-keys.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerConnectionCommands } from './commands/connections.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerNamespaceCommands } from './commands/namespaces.ts';
import { registerOAuthClientCommands } from './commands/oauth-clients.ts';
import { registerServerCommands } from './commands/server.ts';
import { registerTokenCommands } from './commands/tokens.ts';
import { registerToolCommands } from './commands/tools.ts';
import { registerWebhookCommands } from './commands/webhooks.ts';
import { addCommonOptions, addProgramOptions } from './context.ts';
import { reportFailure } from './errors.ts';
import { addGroupExamples } from './group-examples.ts';

const AFTER_HELP = `
Commands that talk to a running server use --url (SWITCHBOARD_URL) and --api-key
(SWITCHBOARD_API_KEY). serve, migrate, accounts, api-keys, oauth-clients and keys work on the database
directly and read the service's environment (DATA_DIR or DATABASE_URL, SWITCHBOARD_SECRET, …);
with the embedded database, stop the service before using them on the same DATA_DIR.

Example:
  export SWITCHBOARD_API_KEY=sk_…
  switchboard namespaces create my-team
  switchboard connections add my-team --url https://mcp.example.com/mcp --header x-api-key=…
  switchboard tools call my-team <connection id> echo '{"message":"hi"}'
  switchboard webhooks add my-team --url https://app.example.com/hooks/switchboard`;

/** The whole `switchboard` command tree (exported for the test that checks every command's help). */
export function buildProgram(): Command {
  const program = new Command('switchboard')
    .description('Manage Switchboard: connections to remote MCP servers, their tools, tokens and keys')
    .version(SWITCHBOARD_VERSION, '-v, --version')
    .enablePositionalOptions()
    .exitOverride()
    // Errors are printed once, as one line, by runCli.
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError()
    .addHelpText('after', AFTER_HELP);
  addProgramOptions(program);
  const http = [registerNamespaceCommands, registerConnectionCommands, registerToolCommands, registerTokenCommands, registerWebhookCommands, registerAuditCommands];
  const database = [registerAccountCommands, registerApiKeyCommands, registerOAuthClientCommands, registerKeyCommands];
  for (const register of http) register(program);
  const before = program.commands.length;
  for (const register of database) register(program);
  program.commands.forEach((command, i) => addCommonOptions(command, i < before ? 'http' : 'database'));
  registerServerCommands(program);
  for (const group of program.commands) if (group.commands.length > 0) addGroupExamples(group);
  return program;
}

/** Runs one `switchboard …` command line; resolves to the exit code (0 ok, 1 failed, 2 bad usage). */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, `help` and --version end here too; a bare group or program shows its help and fails.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
      process.stderr.write(`switchboard: ${error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}\n`);
      return 2;
    }
    return reportFailure(error);
  }
}
