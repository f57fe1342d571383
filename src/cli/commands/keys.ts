import type { Command } from 'commander';
import { positiveInteger } from '../arguments.ts';
import { commonOptionsOf } from '../context.ts';
import { printLine, printTable } from '../output.ts';
import { openDatabaseCommand } from './database-access.ts';

/**
 * `switchboard keys rotate`: re-seals every stored secret under SWITCHBOARD_SECRET, reading
 * the old values with SWITCHBOARD_PREVIOUS_SECRETS. Safe next to running servers (PostgreSQL)
 * and safe to repeat; see README, Security, for the whole procedure.
 */
export function registerKeyCommands(program: Command): void {
  program
    .command('keys')
    .description('The master secret that encrypts stored credentials (on the database directly)')
    .command('rotate')
    .description('Re-encrypt every stored secret under SWITCHBOARD_SECRET (old values opened with SWITCHBOARD_PREVIOUS_SECRETS); safe while servers run, safe to repeat')
    .option('--batch-size <n>', 'rows per transaction (1–10000)', positiveInteger(10_000), 500)
    .addHelpText(
      'after',
      `
Example (servers keep running on PostgreSQL; the whole procedure is in docs/cli.md):
  SWITCHBOARD_SECRET="$NEW_SECRET" SWITCHBOARD_PREVIOUS_SECRETS="$OLD_SECRET" switchboard keys rotate`,
    )
    .action(async (options: { batchSize: number }, command: Command) => {
      const { withDatabase, keyring } = await openDatabaseCommand();
      const { rotateSealedValues } = await import('../../core/crypto/rotation.ts');
      const ring = await keyring();
      const counts = await withDatabase((db) => rotateSealedValues(db, ring, { batchSize: options.batchSize }));
      const unreadable = counts.reduce((sum, c) => sum + c.unreadable, 0);
      if (commonOptionsOf(command).json) printLine(JSON.stringify({ keyId: ring.currentKeyId, tables: counts }));
      else {
        printLine(`Re-sealed under key ${ring.currentKeyId}:`);
        printTable(
          ['VALUE', 'RE-SEALED', 'ALREADY CURRENT', 'REWRITTEN MEANWHILE', 'UNREADABLE'],
          counts.map((c) => [`${c.table}.${c.column}`, String(c.resealed), String(c.alreadyCurrent), String(c.changedConcurrently), String(c.unreadable)]),
        );
      }
      // Never tell the operator it is safe to drop the old secret while something still needs it.
      if (unreadable > 0) {
        throw new Error(
          `${unreadable} value(s) could not be opened with SWITCHBOARD_SECRET or SWITCHBOARD_PREVIOUS_SECRETS and were left as they are: keep the old secrets until they are accounted for`,
        );
      }
    });
}
