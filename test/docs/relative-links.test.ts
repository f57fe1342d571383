import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/processes.ts';

/**
 * Every relative link in README.md, CONTRIBUTING.md and docs/*.md points at a file that exists,
 * and an anchor at a heading of that page (GitHub's slugs), so moving or renaming a page or a
 * heading cannot leave a reader at a dead end.
 */
const pages = ['README.md', 'CONTRIBUTING.md', ...fs.readdirSync(path.join(projectRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The page without fenced code blocks, where `# x` is no heading and `[x](y)` no link. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** …and without inline code either, for links. */
function withoutCode(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, '');
}

function relativeLinks(markdown: string): string[] {
  const text = withoutCode(markdown);
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target!).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe.each(pages)('%s', (page) => {
  const markdown = fs.readFileSync(path.join(projectRoot, page), 'utf8');
  const links = relativeLinks(markdown);

  it.each(links.length > 0 ? links : ['(none)'])('%s resolves', (link) => {
    if (link === '(none)') return;
    const [file, anchor] = link.split('#') as [string, string | undefined];
    const target = file === '' ? path.join(projectRoot, page) : path.resolve(path.dirname(path.join(projectRoot, page)), decodeURIComponent(file));
    expect(fs.existsSync(target), `${page}: ${link} points at a missing file`).toBe(true);
    if (anchor !== undefined) {
      expect(target.endsWith('.md'), `${page}: ${link} has an anchor into a file that is not Markdown`).toBe(true);
      expect([...headingAnchors(fs.readFileSync(target, 'utf8'))], `${page}: ${link} names no heading of ${path.relative(projectRoot, target)}`).toContain(anchor);
    }
  });
});
