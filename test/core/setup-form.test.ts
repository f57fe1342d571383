import { describe, expect, it } from 'vitest';
import type { ConfigFields } from '../../src/core/connections/connection-status.ts';
import { buildFormFields, checkSubmission } from '../../src/core/setup/setup-form.ts';
import { evaluateConfig } from '../../src/core/upstream/config-schema.ts';

/** The setup form's rules, field by field: what is shown, what is required, what is stored. */
const http: ConfigFields = {
  headers: { 'x-api-key': { label: 'API Key', required: true } },
  query: {
    region: { label: 'Region', required: true, options: ['eu', 'us'] },
    limit: { label: 'Limit', type: 'integer' },
    ratio: { label: 'Ratio', type: 'number' },
    verbose: { label: 'Verbose', type: 'boolean' },
    pin: { label: 'PIN', secret: true, required: true },
    note: { label: 'Note' },
  },
};

const fieldsFor = (mcpUrl: string, headerNames: string[] = []) => buildFormFields(http, { mcpUrl, headerNames: new Set(headerNames) });

describe('buildFormFields', () => {
  it('masks every header and the query parameters marked secret, and shows only visible current values', () => {
    const fields = fieldsFor('https://mcp.example.com/mcp?region=eu&pin=1234&note=hi', ['x-api-key']);
    const byKey = Object.fromEntries(fields.map((field) => [field.key, field]));
    expect(byKey['header.x-api-key']).toMatchObject({ secret: true, stored: true, required: true });
    expect(byKey['header.x-api-key']).not.toHaveProperty('value');
    expect(byKey['query.pin']).toMatchObject({ secret: true, stored: true });
    expect(byKey['query.pin']).not.toHaveProperty('value');
    expect(byKey['query.region']).toMatchObject({ secret: false, value: 'eu', options: ['eu', 'us'] });
    expect(byKey['query.note']).toMatchObject({ value: 'hi', required: false, type: 'string' });
  });
});

describe('checkSubmission', () => {
  const empty = fieldsFor('https://mcp.example.com/mcp');
  const valid = { 'header.x-api-key': 'k', 'query.region': 'eu', 'query.pin': '1234' };

  it.each([
    ['query.region', { 'query.region': '' }, 'This field is required.'],
    ['query.region', { 'query.region': 'mars' }, 'Choose one of the listed values.'],
    ['query.limit', { 'query.limit': '1.5' }, 'Enter a whole number.'],
    ['query.ratio', { 'query.ratio': 'lots' }, 'Enter a number.'],
    ['header.x-api-key', { 'header.x-api-key': 'a\nb' }, 'Enter a single line of at most 8192 characters.'],
    ['query.note', { 'query.note': 'x'.repeat(1025) }, 'Enter at most 1024 characters.'],
  ])('refuses %s = %j', (key, override, message) => {
    const result = checkSubmission(empty, new URLSearchParams({ ...valid, ...override }));
    expect(result).toMatchObject({ ok: false, errors: { [key]: message } });
    if (!result.ok) expect(Object.keys(result.errors)).toEqual([key]);
  });

  it('gives back the visible values entered, never the secrets', () => {
    const result = checkSubmission(empty, new URLSearchParams({ 'header.x-api-key': 'secret-key', 'query.pin': 'secret-pin', 'query.note': 'hello' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.values).toMatchObject({ 'query.note': 'hello' });
    expect(JSON.stringify(result.values)).not.toMatch(/secret-/);
  });

  it('sets what was entered and leaves the defaults alone', () => {
    const result = checkSubmission(empty, new URLSearchParams({ ...valid, 'query.verbose': 'true', 'query.limit': '5' }));
    expect(result).toEqual({
      ok: true,
      submission: { headers: { 'x-api-key': 'k' }, setQuery: { region: 'eu', pin: '1234', verbose: 'true', limit: '5' }, removeQuery: [] },
    });
  });

  it('keeps stored secrets left blank, and removes visible values cleared and options unticked', () => {
    const fields = fieldsFor('https://mcp.example.com/mcp?region=eu&pin=1234&note=hi&verbose=true', ['x-api-key']);
    const result = checkSubmission(fields, new URLSearchParams({ 'header.x-api-key': '', 'query.pin': '', 'query.region': 'us', 'query.note': '' }));
    expect(result).toEqual({ ok: true, submission: { headers: {}, setQuery: { region: 'us' }, removeQuery: ['verbose', 'note'] } });
  });
});

describe('form hints from the config schema', () => {
  it('marks headers and password-like parameters secret, and keeps types and choices', () => {
    const schema = {
      properties: {
        key: { title: 'Key', 'x-from': { header: 'X-Key' } },
        pw: { format: 'password' },
        wo: { writeOnly: true },
        xs: { 'x-secret': true },
        plan: { enum: ['free', 'pro', 3, { no: 1 }] },
        count: { type: 'integer' },
        odd: { type: 'object' },
      },
    };
    const { http: fields } = evaluateConfig(schema, { headers: {}, mcpUrl: 'https://mcp.example.com/mcp' });
    expect(fields.headers).toEqual({ 'x-key': { label: 'Key', required: false, secret: true } });
    expect(fields.query).toEqual({
      pw: { label: 'pw', required: false, secret: true },
      wo: { label: 'wo', required: false, secret: true },
      xs: { label: 'xs', required: false, secret: true },
      plan: { label: 'plan', required: false, options: ['free', 'pro', '3'] },
      count: { label: 'count', required: false, type: 'integer' },
      odd: { label: 'odd', required: false },
    });
  });
});
