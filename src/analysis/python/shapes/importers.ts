/**
 * The files that import a file of building blocks (next to it, or named on the command line), and
 * what they tell about its convs: the models they build run its layers (shapes/index.ts), and a read
 * of a conv attribute there (`module.conv.weight` on a `components.ConvLayerBlock` in torchaudio's
 * model.py) would fail once the conv is a Sequential, which the file's own static pass cannot see.
 */
import * as path from 'node:path';
import type { Tree } from 'web-tree-sitter';
import type { PythonLayer } from '../analyze';
import { FIELDS } from '../references';
import type { ShapeSources } from './program';

/** Neighbours read for their import lines, at most: a folder of hundreds of files is not read in full for every file of blocks in it. */
const MAX_SCANNED = 64;

/** Files next to `file` or named on the command line that import it (`from .blocks import`, `import blocks`). */
export function importersOf(file: string, sources: ShapeSources): string[] {
  const stem = path.basename(file, '.py');
  if (!/^[A-Za-z_]\w*$/.test(stem)) return [];
  const dir = path.dirname(file);
  const candidates = new Set<string>();
  for (const name of sources.list?.(dir) ?? []) if (name.endsWith('.py')) candidates.add(path.join(dir, name));
  for (const f of sources.files ?? []) {
    if (f.endsWith('.py')) candidates.add(path.resolve(f));
    // a folder named on the command line: its files, two levels down (a zoo's models/ and models/detection/)
    else for (const g of pythonFilesUnder(path.resolve(f), sources, 2)) candidates.add(g);
  }
  candidates.delete(file);
  const imports = new RegExp(
    `^\\s*(from\\s+[.\\w]*\\b${stem}\\s+import\\b|from\\s+\\.+\\s+import\\s[^\\n]*\\b${stem}\\b|import\\s+[\\w.]*\\b${stem}\\b)`,
    'm',
  );
  // a folder of hundreds of files is not read in full for every file of blocks in it
  return [...candidates]
    .sort()
    .slice(0, MAX_SCANNED)
    .filter((f) => {
      const lines = importLines(f, sources.read?.(f) ?? '');
      return lines.includes(stem) && imports.test(lines);
    });
}

function pythonFilesUnder(dir: string, sources: ShapeSources, depth: number): string[] {
  const out: string[] = [];
  for (const name of sources.list?.(dir) ?? []) {
    if (name.startsWith('.')) continue;
    if (name.endsWith('.py')) out.push(path.join(dir, name));
    else if (depth > 1 && /^[A-Za-z_]\w*$/.test(name)) out.push(...pythonFilesUnder(path.join(dir, name), sources, depth - 1));
  }
  return out;
}

/** The import lines of each neighbour, kept while its text is the same string (the sources keep unchanged files' texts). */
const importLinesOf = new Map<string, { text: string; lines: string }>();

function importLines(file: string, text: string): string {
  const known = importLinesOf.get(file);
  if (known?.text === text) return known.lines;
  const lines = text
    .split('\n')
    .filter((l) => /^\s*(?:from|import)\s/.test(l))
    .join('\n');
  if (importLinesOf.size >= 512) importLinesOf.delete(importLinesOf.keys().next().value as string);
  importLinesOf.set(file, { text, lines });
  return lines;
}

/** The top-level class whose body holds `offset`. */
function classAt(tree: Tree, offset: number): string | undefined {
  for (const stmt of tree.rootNode.namedChildren) {
    const def = stmt?.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
    if (def?.type === 'class_definition' && def.startIndex <= offset && offset < def.endIndex) return def.childForFieldName('name')?.text;
  }
  return undefined;
}

/**
 * Declines the convertible layers built as `self.<attr>` in a class of this file that a file importing
 * it reads as a conv (`x.<attr>.weight`, `isinstance(x.<attr>, ...)`) where it also names the class:
 * after the rewrite that read fails, in a file the rewrite does not look at.
 */
export function declineForeignReads(layers: PythonLayer[], tree: Tree, file: string, sources: ShapeSources): void {
  const open = layers.filter((l) => (l.convertible || l.callerDependent) && l.site.attribute && !l.subclass);
  if (open.length === 0 || !file || !sources.read) return;
  const importers = importersOf(file, sources);
  if (importers.length === 0) return;
  for (const l of open) {
    const cls = classAt(tree, l.span.start);
    const attr = l.site.attribute!;
    if (!cls) continue;
    const read = new RegExp(`[\\w\\])]\\.${attr}\\.(?:${FIELDS})\\b|\\bisinstance\\(\\s*[\\w.]+\\.${attr}\\s*,`);
    const names = new RegExp(`\\b${cls}\\b`);
    for (const f of importers) {
      const text = sources.read(f) ?? '';
      if (!names.test(text)) continue;
      const lines = text.split('\n').map((line) => line.replace(/#.*$/, ''));
      const reads = lines.flatMap((line, i) => (read.test(line) ? [i] : []));
      if (reads.length === 0) continue;
      // a read a few lines under a mention of the class (`if isinstance(module, components.C):`), or
      // through a name bound to one (`self.head = components.C(32)` ... `model.head.conv.weight`)
      const mentions = lines.flatMap((line, i) => (names.test(line) ? [i] : []));
      const bound = [...text.matchAll(new RegExp(`(\\w+)\\s*(?::[^=\\n]+)?=\\s*[\\w.]*\\b${cls}\\(`, 'g'))].map((m) => m[1]);
      const row = reads.find(
        (r) => mentions.some((m) => m <= r && r - m <= 5) || bound.some((b) => new RegExp(`\\b${b}\\.${attr}\\.`).test(lines[r])),
      );
      if (row === undefined) continue;
      const what = lines[row].trim();
      l.convertible = false;
      l.callerDependent = false;
      l.unresolvedOnly = false;
      l.warnings = [];
      l.reason = `line ${row + 1} of ${path.basename(f)} reads \`${what.length > 80 ? what.slice(0, 77) + '...' : what}\` on a \`${cls}\`'s ${attr}, which is a separable Sequential after the rewrite`;
      break;
    }
  }
}
