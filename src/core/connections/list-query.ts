/**
 * How a connection list is filtered by metadata.
 *
 * Metadata filters arrive from query strings, so their values are strings; metadata is
 * free-form JSON, so `metadata.count=3` also matches the number 3 and `metadata.beta=true`
 * the boolean. Each filter is a list of alternatives, any one of which must be contained.
 */
export type MetadataFilter = Record<string, unknown>[];

export function metadataFilters(filters: Record<string, string | string[]>): MetadataFilter[] {
  return Object.entries(filters).map(([key, given]) => {
    const values = Array.isArray(given) ? given : [given];
    return values.flatMap((value) => {
      const alternatives: Record<string, unknown>[] = [{ [key]: value }];
      const scalar = parseJsonScalar(value);
      if (scalar !== undefined) alternatives.push({ [key]: scalar });
      return alternatives;
    });
  });
}

export function parseJsonScalar(value: string): number | boolean | null | undefined {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (value === 'null') return null;
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(value)) {
    const number = Number(value);
    return Number.isFinite(number) ? number : undefined;
  }
  return undefined;
}
