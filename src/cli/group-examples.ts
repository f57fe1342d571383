import type { EventEmitter } from 'node:events';
import type { Command } from 'commander';

/** The example lines (`  [VAR=… ]switchboard …`) a command's own help text ends with. */
function examplesOf(command: Command): string[] {
  let text = '';
  // The text each command added with addHelpText('after', …), without printing its whole help.
  // commander's Command is an EventEmitter; its typings leave `emit` out.
  (command as unknown as EventEmitter).emit('afterHelp', { error: false, command, write: (chunk: string) => (text += chunk) });
  const examples = text.split(/\nExamples?(?: \([^)]*\))?:\n/)[1] ?? '';
  return examples.split('\n').filter((line) => /^ {2}(\S+=\S+ )*switchboard /.test(line));
}

/**
 * A group's help (`switchboard tokens --help`) shows the first example of each of its
 * commands, gathered when the help is shown: each example is written once, where its command is.
 */
export function addGroupExamples(group: Command): void {
  group.addHelpText('after', () => {
    const lines = group.commands.flatMap((command) => examplesOf(command).slice(0, 1));
    return lines.length ? `\nExamples:\n${lines.join('\n')}` : '';
  });
}
