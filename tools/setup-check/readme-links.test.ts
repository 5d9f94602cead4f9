// Every link in every committed README leads to a file (or folder) that is committed too: a link to something a
// .gitignore kept out of git works on the author's machine and nowhere else.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
const trackedSet = new Set(tracked);
const trackedDirs = new Set(tracked.flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));

/** The link targets of a Markdown text: inline `[text](target)` and reference definitions, outside code. */
export function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const references = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
  return [...inline, ...references].map((t) => t.replace(/^<|>$/g, ''));
}

/** A target inside the repository (not a URL, mail address or anchor of the same page), as a repository path. */
function repositoryPath(readme: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#') || target.startsWith('//')) return null;
  const path = decodeURIComponent(target.replace(/[#?].*$/, ''));
  if (path === '') return null;
  const absolute = path.startsWith('/') ? join(root, path) : resolve(root, dirname(readme), path);
  return normalize(relative(root, absolute)).replace(/\\/g, '/').replace(/\/$/, '');
}

const readmes = tracked.filter((f) => /(^|\/)readme\.md$/i.test(f));

describe('README links', () => {
  it('finds the committed READMEs and reads their links', () => {
    expect(readmes).toContain('README.md');
    expect(linkTargets('see [a](docs/a.md "title"), [b](<b c.md>), `[not](x.md)`\n\n```\n[no](y.md)\n```\n[ref]: ./r.md\n')).toEqual(['docs/a.md', 'b c.md', './r.md']);
  });

  it('every link in every committed README resolves to a committed file or folder', () => {
    const broken = readmes.flatMap((readme) =>
      linkTargets(readFileSync(join(root, readme), 'utf8'))
        .map((target) => ({ target, path: repositoryPath(readme, target) }))
        .filter((l): l is { target: string; path: string } => l.path !== null && !trackedSet.has(l.path) && !trackedDirs.has(l.path) && l.path !== '')
        .map((l) => `${readme}: ${l.target} (${l.path} is not committed)`),
    );
    expect(broken, broken.join('\n')).toEqual([]);
  });
});
