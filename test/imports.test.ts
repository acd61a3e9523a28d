import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import { ROOT } from './helpers/cli.js';
import { sourceFiles } from './helpers/sources.js';

/** The relative modules a file imports or re-exports, type-only ones included, as the file paths they may be. */
function importsOf(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const out: string[] = [];
  for (const st of sf.statements) {
    const spec = (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : undefined;
    if (!spec?.startsWith('.')) continue;
    const target = resolve(dirname(file), spec).replace(/\.js$/, '');
    out.push(...[`${target}.ts`, `${target}.tsx`, target]);
  }
  return out;
}

describe('the module graph', () => {
  it('has no import circles, type-only imports included', () => {
    const files = ['core', 'plugins', 'server', 'codecs', 'bench', 'console/src'].flatMap((d) => sourceFiles(join(ROOT, d)));
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((i) => files.includes(i))]));
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(ROOT, f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file)!) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const f of files) visit(f, []);
    expect(circles).toEqual([]);
  });

  it('keeps the core apart from the plugins: no core module imports one, none names a plugin\'s files (LMDB, a node folder\'s .kintsugi)', () => {
    const core = sourceFiles(join(ROOT, 'core'));
    const plugins = join(ROOT, 'plugins');
    const reaching = core.flatMap((f) => importsOf(f).filter((i) => i.startsWith(plugins)).map((i) => `${relative(ROOT, f)} → ${relative(ROOT, i)}`));
    expect([...new Set(reaching)]).toEqual([]);
    const naming = core.filter((f) => /\.kintsugi\/|\.lmdb\b|from 'lmdb'/.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
    expect(naming).toEqual([]);
  });
});
