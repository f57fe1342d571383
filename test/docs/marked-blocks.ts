/**
 * The code blocks of a Markdown page that an HTML comment marks for a test, in page order:
 *
 *   <!-- quick-start: run NAME -->      a shell block the test runs as written
 *   <!-- quick-start: install -->       a shell block that installs packages (the test installs
 *                                       the same ones from this checkout instead: no registry)
 *   <!-- quick-start: file PATH -->     a block the reader saves as PATH
 *
 * The comment must stand right before the block's opening fence, so a block cannot lose its
 * mark by an edit without the test noticing (it counts and names the blocks it expects).
 */
export type MarkedBlock =
  | { kind: 'run'; name: string; code: string }
  | { kind: 'install'; code: string }
  | { kind: 'file'; path: string; code: string };

const markedBlock = /<!-- quick-start: (run|install|file)(?: ([^\s]+))? -->\n```(\w+)\n([\s\S]*?)\n```/g;

export function markedBlocks(markdown: string): MarkedBlock[] {
  const blocks: MarkedBlock[] = [];
  for (const [, kind, argument, , code] of markdown.matchAll(markedBlock)) {
    if (kind === 'run') blocks.push({ kind, name: argument!, code: code! });
    else if (kind === 'install') blocks.push({ kind, code: code! });
    else blocks.push({ kind: 'file', path: argument!, code: code! });
  }
  const marks = markdown.match(/<!-- quick-start:/g)?.length ?? 0;
  if (marks !== blocks.length) throw new Error(`${marks} quick-start marks but ${blocks.length} marked blocks: a mark must stand right before its block's fence`);
  return blocks;
}
