import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.ts';

/** `--header K=V` (repeatable) into an object; the value may itself hold `=`. */
export function collectPair(flag: string) {
  return (raw: string, previous: Record<string, string> = {}): Record<string, string> => {
    const at = raw.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, e.g. ${flag} x-api-key=…`);
    const key = raw.slice(0, at).trim();
    if (key === '') throw new InvalidArgumentError('the key before = is empty');
    return { ...previous, [key]: raw.slice(at + 1) };
  };
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

async function readStdin(): Promise<string> {
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
