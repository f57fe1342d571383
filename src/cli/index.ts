import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { SWITCHBOARD_VERSION } from '../version.ts';
import { runApiKeysCommand } from './api-keys.ts';
import { runKeysCommand } from './keys.ts';
import { runOAuthClientsCommand } from './oauth-clients.ts';

const USAGE = `Usage: switchboard <command>

Commands:
  serve                                   Start the service (same as npm start)
  api-keys create --name NAME [--account ACCOUNT_ID] [--json]
                                          Create an API key (and an account, unless --account);
                                          the key is printed once
  api-keys list [--account ACCOUNT_ID] [--json]
  api-keys revoke KEY_ID [--json]
  oauth-clients add --issuer URL --client-id ID [--client-secret SECRET] [--auth-method METHOD]
                    [--scope SCOPE] [--account ACCOUNT_ID] [--json]
                                          Use a pre-registered OAuth client for an authorization
                                          server (for every account, unless --account)
  oauth-clients list [--account ACCOUNT_ID] [--json]
  oauth-clients remove CLIENT_ID [--account ACCOUNT_ID]
  keys rotate [--batch-size N] [--json]   Re-encrypt every stored secret under SWITCHBOARD_SECRET
                                          (old values opened with SWITCHBOARD_PREVIOUS_SECRETS);
                                          safe while servers run, safe to repeat
  migrate                                 Bring the database schema up to date

The CLI reads the same environment as the service (DATA_DIR or DATABASE_URL, ...).
With the embedded database, stop the service before using the CLI on the same DATA_DIR.`;

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${SWITCHBOARD_VERSION}\n`);
    return 0;
  }
  if (command === 'serve' || command === 'start') {
    const { main } = await import('../main.ts');
    await main();
    return 0;
  }
  try {
    const config = loadConfig();
    if (command === 'api-keys') return await runApiKeysCommand(config, rest);
    if (command === 'oauth-clients') return await runOAuthClientsCommand(config, rest);
    if (command === 'keys') return await runKeysCommand(config, rest);
    if (command === 'migrate') {
      const { withDatabase } = await import('./database.ts');
      await withDatabase(config, async () => {});
      process.stdout.write('Database schema is up to date\n');
      return 0;
    }
  } catch (error) {
    return reportFailure(error);
  }
  process.stderr.write(`switchboard: unknown command "${command}"\n\n${USAGE}\n`);
  return 2;
}

export function reportFailure(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`switchboard: ${message}\n`);
  return error instanceof ConfigError ? 2 : 1;
}

export function parseCommandArgs(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}
