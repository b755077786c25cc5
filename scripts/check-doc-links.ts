/**
 * Fails when a relative link in README.md or docs/ points at a file or a
 * heading that does not exist, or when a page under docs/ is not linked from
 * README.md (the README is the index a newcomer starts from).
 *
 *   node --import tsx scripts/check-doc-links.ts
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return markdownFiles(full);
    return name.endsWith('.md') ? [full] : [];
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens; plus explicit `<a id>`s. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set([...markdown.matchAll(/<a id="([^"]+)"/g)].map((m) => m[1]!));
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  for (const [, heading] of prose.matchAll(/^#+ (.*)$/gm)) {
    anchors.add(heading!.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-'));
  }
  return anchors;
}

const pages = [path.join(ROOT, 'README.md'), ...markdownFiles(path.join(ROOT, 'docs'))];
const problems: string[] = [];
for (const page of pages) {
  const prose = readFileSync(page, 'utf8').replace(/```[\s\S]*?```/g, '');
  for (const [, link] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(link!)) continue;
    const [file, fragment] = link!.split('#', 2) as [string, string | undefined];
    const target = file === '' ? page : path.resolve(path.dirname(page), file);
    const where = `${path.relative(ROOT, page)}: (${link})`;
    if (!existsSync(target)) problems.push(`${where} no such file`);
    else if (fragment && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(fragment)) problems.push(`${where} no such heading`);
  }
}
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
for (const page of markdownFiles(path.join(ROOT, 'docs'))) {
  const rel = path.relative(ROOT, page);
  if (!readme.includes(`](${rel})`) && !readme.includes(`](${rel}#`)) problems.push(`README.md does not link ${rel}`);
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  console.error(`${problems.length} broken or missing documentation link(s)`);
  process.exitCode = 1;
}
