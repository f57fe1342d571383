import type { Command } from 'commander';
import { collectList, positiveInteger } from '../arguments.ts';
import { httpContext } from '../context.ts';
import { segment, type Query } from '../http-client.ts';
import { printJson, printLine } from '../output.ts';
import { type Delivery, printDeliveryTable, printWebhook, printWebhookTable, type Webhook } from '../webhook-display.ts';

type DeliveryPage = { deliveries: Delivery[]; nextCursor: string | null };
type AddOptions = { url: string; event?: string[]; description?: string };
type DeliveriesOptions = { limit?: number; cursor?: string; all?: boolean };

const webhooksPath = (namespace: string) => `/namespaces/${segment(namespace)}/webhooks`;
const webhookPath = (namespace: string, id: string) => `${webhooksPath(namespace)}/${segment(id)}`;

/** `switchboard webhooks …`: a namespace's webhooks over HTTP (API keys only: service tokens get 403). */
export function registerWebhookCommands(program: Command): void {
  const webhooks = program.command('webhooks').description('Register, list, test and remove webhooks for connection events (over HTTP, API keys only)');

  webhooks
    .command('add')
    .argument('<namespace>', 'the namespace')
    .requiredOption('--url <webhook-url>', 'where events are POSTed (http or https)')
    .option('--event <type>', 'only this event type: connection.status_changed, connection.deleted (repeatable or comma-separated); all when left out', collectList)
    .option('--description <text>', 'a note for your own bookkeeping')
    .description('Register a webhook; its signing secret (whsec_…) is printed once')
    .addHelpText(
      'after',
      `
Here --url is the receiver; the server is SWITCHBOARD_URL, or: switchboard --url URL webhooks add …

Example:
  switchboard webhooks add my-team --url https://app.example.com/hooks/switchboard --event connection.status_changed`,
    )
    .action(async (namespace: string, options: AddOptions, command: Command) => {
      const { client, json } = httpContext(command);
      const body = {
        url: options.url,
        ...(options.event ? { events: options.event } : {}),
        ...(options.description === undefined ? {} : { description: options.description }),
      };
      const created = await client.request<Webhook & { secret: string }>('POST', webhooksPath(namespace), { body });
      if (json) return printJson(created);
      printLine(`Created webhook ${created.webhookId} for ${created.url} (${created.events ? created.events.join(', ') : 'every event'}).`);
      printLine(`\n  ${created.secret}\n`);
      printLine('Store it now: it is the signing secret to verify deliveries with, and will not be shown again.');
    });

  webhooks
    .command('list')
    .argument('<namespace>', 'the namespace')
    .description('List the webhooks of a namespace (never their secrets)')
    .addHelpText('after', `
Example:
  switchboard webhooks list my-team`)
    .action(async (namespace: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const answer = await client.request<{ webhooks: Webhook[] }>('GET', webhooksPath(namespace));
      if (json) return printJson(answer);
      if (answer.webhooks.length === 0) return printLine(`No webhooks. Add one with: switchboard webhooks add ${namespace} --url URL`);
      printWebhookTable(answer.webhooks);
    });

  webhooks
    .command('get')
    .argument('<namespace>', 'the namespace')
    .argument('<id>', 'the webhook id (wh_…)')
    .description('Show a webhook (never its secret)')
    .addHelpText('after', `
Example:
  switchboard webhooks get my-team wh_3k7q2m5x9v4h6c8b`)
    .action(async (namespace: string, id: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const webhook = await client.request<Webhook>('GET', webhookPath(namespace, id));
      if (json) return printJson(webhook);
      printWebhook(webhook);
    });

  webhooks
    .command('remove')
    .argument('<namespace>', 'the namespace')
    .argument('<id>', 'the webhook id (wh_…)')
    .description('Remove a webhook and its deliveries')
    .addHelpText('after', `
Example:
  switchboard webhooks remove my-team wh_3k7q2m5x9v4h6c8b`)
    .action(async (namespace: string, id: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const answer = await client.request<{ success: true }>('DELETE', webhookPath(namespace, id));
      if (json) return printJson(answer);
      printLine(`Removed webhook ${id}.`);
    });

  webhooks
    .command('test')
    .argument('<namespace>', 'the namespace')
    .argument('<id>', 'the webhook id (wh_…)')
    .description('Queue a signed webhook.test event for the webhook; see how it went with: webhooks deliveries')
    .addHelpText('after', `
Example:
  switchboard webhooks test my-team wh_3k7q2m5x9v4h6c8b`)
    .action(async (namespace: string, id: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      // Queued (202), not sent in this request: the receiver is never waited on here.
      const queued = await client.request<{ eventId: string; type: string }>('POST', `${webhookPath(namespace, id)}/test`);
      if (json) return printJson(queued);
      printLine(`Queued ${queued.type} event ${queued.eventId}. See it with: switchboard webhooks deliveries ${namespace} ${id}`);
    });

  webhooks
    .command('deliveries')
    .argument('<namespace>', 'the namespace')
    .argument('<id>', 'the webhook id (wh_…)')
    .option('--limit <n>', 'deliveries per page (1–100, default 20)', positiveInteger(100))
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow nextCursor through every page')
    .description('List the deliveries of a webhook, newest first, with their last attempt')
    .addHelpText('after', `
Examples:
  switchboard webhooks deliveries my-team wh_3k7q2m5x9v4h6c8b
  switchboard webhooks deliveries my-team wh_3k7q2m5x9v4h6c8b --all --json`)
    .action(async (namespace: string, id: string, options: DeliveriesOptions, command: Command) => {
      const { client, json } = httpContext(command);
      const found: Delivery[] = [];
      let cursor = options.cursor;
      let page: DeliveryPage;
      do {
        const query: Query = { limit: options.limit, cursor };
        page = await client.request<DeliveryPage>('GET', `${webhookPath(namespace, id)}/deliveries`, { query });
        found.push(...page.deliveries);
        cursor = page.nextCursor ?? undefined;
      } while (options.all && cursor);
      if (json) return printJson({ deliveries: found, nextCursor: page.nextCursor });
      if (found.length === 0) printLine('No deliveries.');
      else printDeliveryTable(found);
      if (page.nextCursor) printLine(`More: --cursor ${page.nextCursor} (or --all)`);
    });
}
