import * as fs from 'node:fs';
import * as path from 'node:path';
import GithubSlugger from 'github-slugger';

/** The repository's documentation: every relative link and anchor resolves inside the clone. */
const root = path.resolve(__dirname, '..', '..');

function markdownFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(root, 'docs', f));
  const cards = fs
    .readdirSync(path.join(root, 'checkpoints'))
    .map((d) => path.join(root, 'checkpoints', d, 'README.md'))
    .filter((f) => fs.existsSync(f));
  return [path.join(root, 'README.md'), ...docs, ...cards];
}

/** The text outside fenced code blocks, where links and headings live. */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

function anchors(file: string): Set<string> {
  const slugger = new GithubSlugger();
  const headings = prose(fs.readFileSync(file, 'utf8'))
    .map((line) => /^#{1,6} (.*)$/.exec(line)?.[1])
    .filter((h): h is string => h !== undefined);
  return new Set(headings.map((h) => slugger.slug(h)));
}

function links(file: string): string[] {
  const found: string[] = [];
  for (const line of prose(fs.readFileSync(file, 'utf8'))) {
    for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) found.push(m[1]);
  }
  return found.filter((l) => !/^(https?:|mailto:)/.test(l));
}

test('the documentation has a README, a method page and pages by topic', () => {
  const files = markdownFiles().map((f) => path.relative(root, f));
  expect(files).toEqual(
    expect.arrayContaining(['README.md', 'docs/method.md', 'docs/training.md']),
  );
  expect(
    fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n').length,
  ).toBeLessThanOrEqual(300);
});

test.each(markdownFiles().map((f) => [path.relative(root, f), f]))(
  'every relative link of %s resolves inside the repository',
  (_name, file) => {
    const broken: string[] = [];
    for (const link of links(file)) {
      const [target, anchor] = link.split('#');
      const resolved = target === '' ? file : path.resolve(path.dirname(file), decodeURI(target));
      if (path.relative(root, resolved).startsWith('..'))
        broken.push(`${link}: outside the repository`);
      else if (!fs.existsSync(resolved)) broken.push(`${link}: no such file`);
      else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor))
        broken.push(`${link}: no heading '${anchor}'`);
    }
    expect(broken).toEqual([]);
  },
);

test('no source, config or document refers to a path outside the repository', () => {
  const outside = ['..', 'shared'].join('/');
  const spec = ['METHOD', 'md'].join('.');
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|js|mjs|cjs|json|ya?ml|md|sh)$/.test(entry.name)) {
        const text = fs.readFileSync(full, 'utf8');
        if (text.includes(outside) || text.includes(spec))
          offenders.push(path.relative(root, full));
      }
    }
  };
  for (const dir of ['src', 'test', 'bench', 'bin', 'configs', 'docs', 'checkpoints'])
    walk(path.join(root, dir));
  for (const file of ['README.md', 'package.json']) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    if (text.includes(outside) || text.includes(spec)) offenders.push(file);
  }
  expect(offenders).toEqual([]);
});
