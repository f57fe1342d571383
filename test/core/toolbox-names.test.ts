import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isConnectionId } from '../../src/core/connections/connection-input.ts';
import { connectionSegment, parseToolboxName, toolboxToolName, toolBudget, toolSegment, TOOL_NAME_PATTERN } from '../../src/core/tools/toolbox-names.ts';

/**
 * The toolbox naming rule, for all inputs: every name is a valid MCP tool name, distinct pairs
 * get distinct names, and a name leads back to its pair — by itself when its segments are
 * plain, by recomputing the names of candidates when they are hashed (what a replica does).
 */

/** Connection ids as the API accepts them: short and plain, long, or with `. ~ : @`. */
const connectionIds = fc
  .oneof(
    fc.stringMatching(/^[a-z][a-z0-9_-]{0,20}$/),
    fc.constantFrom('conn_abcdefghijklmnop', 'mcp', 'a', 'x--y', 'a.b', 'team~1', 'u@host:1'),
    fc.stringMatching(/^[A-Za-z0-9_~][A-Za-z0-9._~:@-]{0,127}$/),
  )
  .filter(isConnectionId);

/** Tool names as servers send them: plain, dotted, slashed, long, or any text at all. */
const toolNames = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_]{0,30}$/),
  fc.constantFrom('echo', 'repo.search', 'github/create_issue', 'a--b', 'get-sum', 'x'.repeat(64), 'é', '工具'),
  fc.stringMatching(/^[A-Za-z0-9_.\-/ ]{1,100}$/),
  fc.string({ minLength: 1, maxLength: 80 }),
);

const pairs = fc.uniqueArray(fc.tuple(connectionIds, toolNames), {
  minLength: 1,
  maxLength: 40,
  selector: ([connectionId, toolName]) => `${connectionId}\u0000${toolName}`,
});

/** What a replica does with a name: parse it, then search the candidates for segments it cannot read. */
function resolve(name: string, candidates: [string, string][]): [string, string][] {
  const parsed = parseToolboxName(name);
  if (!parsed) return [];
  return candidates.filter(([connectionId, toolName]) => {
    if (parsed.connectionId !== undefined ? parsed.connectionId !== connectionId : connectionSegment(connectionId) !== parsed.connectionSegment) return false;
    if (parsed.toolName !== undefined) return parsed.toolName === toolName;
    return toolSegment(toolName, toolBudget(parsed.connectionSegment)) === parsed.toolSegment;
  });
}

describe('toolbox tool names', () => {
  it('are valid MCP tool names (1–64 of A-Z a-z 0-9 _ . -)', () => {
    fc.assert(
      fc.property(connectionIds, toolNames, (connectionId, toolName) => {
        expect(toolboxToolName(connectionId, toolName)).toMatch(TOOL_NAME_PATTERN);
      }),
      { numRuns: 2000 },
    );
  });

  it('never give two tools the same name, and each name leads back to exactly its tool', () => {
    fc.assert(
      fc.property(pairs, (all) => {
        const names = all.map(([connectionId, toolName]) => toolboxToolName(connectionId, toolName));
        expect(new Set(names).size).toBe(names.length);
        all.forEach((pair, index) => expect(resolve(names[index]!, all)).toEqual([pair]));
      }),
      { numRuns: 500 },
    );
  });

  it('keep plain pairs readable: `<connectionId>.<tool>` as it is', () => {
    expect(toolboxToolName('conn_abcdefghijklmnop', 'echo')).toBe('conn_abcdefghijklmnop.echo');
    expect(toolboxToolName('conn_abcdefghijklmnop', 'repo.search')).toBe('conn_abcdefghijklmnop.repo.search');
    expect(parseToolboxName('conn_abcdefghijklmnop.repo.search')).toMatchObject({ connectionId: 'conn_abcdefghijklmnop', toolName: 'repo.search' });
  });

  it.each([
    ['a dotted connection id', 'a.b', 'echo', /^a_b--[a-z2-7]{10}\.echo$/],
    ['a connection id with --', 'x--y', 'echo', /^x--y--[a-z2-7]{10}\.echo$/],
    ['a slashed tool name', 'conn_1', 'github/create_issue', /^conn_1\.github_create_issue--[a-z2-7]{10}$/],
    ['a tool name with --', 'conn_1', 'a--b', /^conn_1\.a--b--[a-z2-7]{10}$/],
    ['a tool name too long to fit', 'conn_abcdefghijklmnop', 't'.repeat(60), /^conn_abcdefghijklmnop\.t{30}--[a-z2-7]{10}$/],
    ['a tool name of other scripts', 'conn_1', '工具', /^conn_1\.__--[a-z2-7]{10}$/],
  ])('hash %s deterministically', (_label, connectionId, toolName, expected) => {
    const name = toolboxToolName(connectionId, toolName);
    expect(name).toMatch(expected);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(toolboxToolName(connectionId, toolName)).toBe(name);
  });

  it.each(['echo', '.echo', 'conn.', `${'a'.repeat(60)}.echo`, 'conn_1.bad name', `${'c'.repeat(33)}.echo`, 'x--y.echo--abc'])(
    '%j is no name a tool could have (too long, no connection, a connection segment out of rule, …)',
    (name) => {
      const parsed = parseToolboxName(name);
      if (name === 'x--y.echo--abc') expect(parsed).toMatchObject({ connectionId: undefined, toolName: undefined });
      else expect(parsed).toBeUndefined();
    },
  );
});
