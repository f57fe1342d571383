import type { Command } from 'commander';
import { httpContext } from '../context.ts';
import { segment } from '../http-client.ts';
import type { Namespace, NamespacePage } from '../../core/namespaces/namespaces.ts';
import { printJson, printLine, printTable } from '../output.ts';

export function registerNamespaceCommands(program: Command): void {
  const namespaces = program.command('namespaces').description('List, create and delete namespaces (over HTTP)');

  namespaces
    .command('list')
    .description('List your namespaces, newest first (every page)')
    .addHelpText('after', `
Examples:
  switchboard namespaces list
  switchboard namespaces list --json | jq -r '.namespaces[].name'`)
    .action(async (_options, command: Command) => {
      const { client, json } = httpContext(command);
      const all: Namespace[] = [];
      // The API pages by number; follow them all, stopping at an empty page like the official client.
      for (let page = 1; ; page++) {
        const answer = await client.request<NamespacePage>('GET', '/namespaces', { query: { page, pageSize: 50 } });
        all.push(...answer.namespaces);
        if (answer.namespaces.length === 0 || page >= answer.pagination.totalPages) break;
      }
      if (json) return printJson({ namespaces: all });
      if (all.length === 0) return printLine('No namespaces. Create one with: switchboard namespaces create');
      printTable(['NAME', 'CREATED'], all.map((ns) => [ns.name, ns.createdAt]));
    });

  namespaces
    .command('create')
    .argument('[name]', 'a name of your choice (3–39 lowercase letters, digits and hyphens); generated when left out')
    .description('Create a namespace (idempotent for a name you already own)')
    .addHelpText('after', `
Examples:
  switchboard namespaces create my-team
  switchboard namespaces create          # a generated name, printed`)
    .action(async (name: string | undefined, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const created = name
        ? await client.request<Namespace>('PUT', `/namespaces/${segment(name)}`)
        : await client.request<Namespace>('POST', '/namespaces');
      if (json) return printJson(created);
      printLine(created.name);
    });

  namespaces
    .command('delete')
    .argument('<name>', 'the namespace')
    .description('Delete a namespace and all its connections')
    .addHelpText('after', `
Example:
  switchboard namespaces delete my-team`)
    .action(async (name: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const answer = await client.request<{ success: true; name: string }>('DELETE', `/namespaces/${segment(name)}`);
      if (json) return printJson(answer);
      printLine(`Deleted namespace ${answer.name} and its connections.`);
    });
}
