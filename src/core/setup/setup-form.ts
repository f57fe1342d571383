import type { ConfigField, ConfigFields } from '../connections/connection-status.ts';
import { isStorableText } from '../storable-text.ts';

/**
 * The setup form of an `input_required` connection, built from the configuration its server
 * declares (the connection's `status.http`), and the check of what the end user submitted.
 * Secret values (every header: they are credentials; query parameters the schema marks as
 * passwords or secrets) are never put back into a page: a stored one is kept when its field is
 * left blank.
 */
export type FormField = {
  /** The form control's name: `header.<name>` or `query.<name>`. */
  key: string;
  place: 'header' | 'query';
  name: string;
  label: string;
  description?: string;
  required: boolean;
  secret: boolean;
  type: 'string' | 'number' | 'integer' | 'boolean';
  options?: string[];
  /** Whether the connection already holds a value. */
  stored: boolean;
  /** The value to show (never for a secret). */
  value?: string;
};

export type SetupSubmission = {
  /** Header values entered (the others are kept as they are). */
  headers: Record<string, string>;
  /** Query parameters to set, and those to remove from the URL. */
  setQuery: Record<string, string>;
  removeQuery: string[];
};

export type SubmissionCheck =
  | { ok: true; submission: SetupSubmission }
  | { ok: false; errors: Record<string, string>; values: Record<string, string> };

const MAX_HEADER_VALUE_LENGTH = 8192;
const MAX_QUERY_VALUE_LENGTH = 1024;
const HEADER_VALUE_PATTERN = /^[\t\x20-\x7e\x80-\xff]*$/;

export function buildFormFields(http: ConfigFields, have: { mcpUrl: string; headerNames: ReadonlySet<string> }): FormField[] {
  const query = new URL(have.mcpUrl).searchParams;
  const field = (place: FormField['place'], name: string, spec: ConfigField): FormField => {
    const secret = place === 'header' || spec.secret === true;
    const stored = place === 'header' ? have.headerNames.has(name) : query.has(name);
    const current = place === 'query' ? query.get(name) : null;
    return {
      key: `${place}.${name}`,
      place,
      name,
      label: spec.label || name,
      ...(spec.description ? { description: spec.description } : {}),
      required: spec.required === true,
      secret,
      type: spec.type ?? 'string',
      ...(spec.options && spec.options.length > 0 ? { options: spec.options } : {}),
      stored,
      ...(!secret && current !== null ? { value: current } : {}),
    };
  };
  return [
    ...Object.entries(http.headers ?? {}).map(([name, spec]) => field('header', name, spec)),
    ...Object.entries(http.query ?? {}).map(([name, spec]) => field('query', name, spec)),
  ];
}

/** Checks every field; on errors, the non-secret values entered, to show them again. */
export function checkSubmission(fields: readonly FormField[], form: URLSearchParams): SubmissionCheck {
  const errors: Record<string, string> = {};
  const values: Record<string, string> = {};
  const submission: SetupSubmission = { headers: {}, setQuery: {}, removeQuery: [] };
  for (const field of fields) {
    const raw = field.type === 'boolean' ? (form.has(field.key) ? 'true' : 'false') : (form.get(field.key) ?? '');
    const value = field.type === 'boolean' ? raw : raw.trim();
    if (!field.secret) values[field.key] = value;
    const problem = problemWith(field, value);
    if (problem) {
      errors[field.key] = problem;
      continue;
    }
    if (field.type === 'boolean' && value === 'false' && !field.required) {
      // Unticked and optional: the server's default applies.
      if (field.stored) submission.removeQuery.push(field.name);
    } else if (value === '') {
      // A blank secret keeps what is stored; a blank visible value is removed.
      if (!field.secret && field.stored) submission.removeQuery.push(field.name);
    } else if (field.place === 'header') {
      submission.headers[field.name] = value;
    } else {
      submission.setQuery[field.name] = value;
    }
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors, values } : { ok: true, submission };
}

function problemWith(field: FormField, value: string): string | undefined {
  if (value === '') return field.required && !(field.secret && field.stored) ? 'This field is required.' : undefined;
  if (!isStorableText(value)) return 'This value contains characters that cannot be stored.';
  if (field.place === 'header' && (value.length > MAX_HEADER_VALUE_LENGTH || !HEADER_VALUE_PATTERN.test(value))) {
    return `Enter a single line of at most ${MAX_HEADER_VALUE_LENGTH} characters.`;
  }
  if (field.place === 'query' && value.length > MAX_QUERY_VALUE_LENGTH) return `Enter at most ${MAX_QUERY_VALUE_LENGTH} characters.`;
  if (field.type === 'integer' && !/^-?\d+$/.test(value)) return 'Enter a whole number.';
  if (field.type === 'number' && !Number.isFinite(Number(value))) return 'Enter a number.';
  if (field.options && field.type !== 'boolean' && !field.options.includes(value)) return 'Choose one of the listed values.';
  return undefined;
}
