import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.ts';

/** Every command a user can type, by its full name: `switchboard tools call`, … */
function leafCommands(command: Command, prefix = 'switchboard'): [string, Command][] {
  const name = `${prefix} ${command.name()}`;
  if (command.commands.length === 0) return [[name, command]];
  return command.commands.flatMap((child) => leafCommands(child, name));
}

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (chunk) => (text += chunk) });
  command.outputHelp();
  return text;
}

const program = buildProgram();
const leaves = program.commands.flatMap((command) => leafCommands(command));

const groups = program.commands.filter((command) => command.commands.length > 0).map((group) => [`switchboard ${group.name()}`, group] as const);

describe('switchboard --help', () => {
  it('covers every command group', () => {
    expect(program.commands.map((c) => c.name()).sort()).toEqual(
      ['accounts', 'api-keys', 'audit', 'connections', 'keys', 'migrate', 'namespaces', 'oauth-clients', 'serve', 'tokens', 'tools', 'webhooks'].sort(),
    );
  });

  // An example line runs the command it documents (after any environment it sets).
  it.each(leaves)('%s --help shows an example of itself', (name, command) => {
    const help = helpOf(command);
    const examples = help.split(/\nExamples?( \([^)]*\))?:\n/)[2];
    expect(examples, help).toBeDefined();
    expect(examples!.split('\n').some((line) => line.startsWith('  ') && line.includes(`${name}`))).toBe(true);
  });

  // A group's help gathers the first example of each of its commands.
  it.each(groups)('%s --help shows an example of each of its commands', (name, group) => {
    const examples = helpOf(group).split(/\nExamples?:\n/)[1] ?? '';
    for (const command of group.commands) expect(examples).toMatch(new RegExp(`^ {2}.*${name} ${command.name()}( |$)`, 'm'));
  });
});
