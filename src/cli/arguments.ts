import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.ts';

/** A repeatable option, kept as given (parsed in the action, so a malformed value is never echoed). */
export function collectRaw(raw: string, previous: string[] = []): string[] {
  return [...previous, raw];
}

/**
 * `--header K=V` (repeated) into an object; the value may itself hold `=`. The error does not
 * repeat the value: a header is usually a credential.
 */
export function toPairs(raw: string[] | undefined, flag: string): Record<string, string> | undefined {
  if (!raw) return undefined;
  const pairs: Record<string, string> = {};
  for (const item of raw) {
    const at = item.indexOf('=');
    if (at <= 0 || item.slice(0, at).trim() === '') throw new UsageError(`${flag} needs KEY=VALUE (one of the values has no key before =)`);
    pairs[item.slice(0, at).trim()] = item.slice(at + 1);
  }
  return pairs;
}

/** A repeatable option that also takes comma-separated values: `--operation read,write`. */
export function collectList(raw: string, previous: string[] = []): string[] {
  return [...previous, ...raw.split(',').map((item) => item.trim()).filter(Boolean)];
}

export function positiveInteger(max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < 1 || value > max) throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`);
    return value;
  };
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** JSON given on the command line, or `-` for stdin. A parse failure is a usage error, before any request. */
export async function readJsonArgument(raw: string, what: string): Promise<unknown> {
  const text = raw === '-' ? await readStdin() : raw;
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : String(error);
    throw new UsageError(`${what} ${raw === '-' ? 'from stdin ' : ''}is not valid JSON: ${reason}`);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
