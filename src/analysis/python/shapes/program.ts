/**
 * The files a model is spread over: the analysed file, the files it imports relatively
 * (`from .blocks import BasicBlock`), sibling modules imported by name (`from blocks import X`, as
 * Python finds them next to a script) and the files named on the command line. Files are read
 * through a callback (the CLI reads the disk, an editor its open buffers), parsed once, and their
 * trees deleted by `dispose()`.
 */
import * as path from 'node:path';
import type { Tree } from 'web-tree-sitter';
import type { ShapeSources } from '../../files';
import { parse } from '../../parsing';
import type { SourceFile } from './values';

export type { ShapeSources };

/**
 * A model spans a few files of its own and some of its libraries' (torchvision's `ops`, `_api`,
 * `utils`); imports are followed lazily, name by name, and never past this many files.
 */
export const MAX_FILES = 256;

/** Top-level packages that are libraries, never looked up among the user's files. */
const LIBRARIES = new Set([
  'torch', 'numpy', 'np', 'math', 'typing', 'collections', 'functools', 'itertools',
  'copy', 'os', 'sys', 're', 'warnings', 'logging', 'abc', 'dataclasses', 'enum', 'json', 'random', 'time',
  'einops', 'operator', 'types', 'inspect', 'pathlib', 'argparse', 'typing_extensions', '__future__',
]);

export class Program {
  private readonly files = new Map<string, SourceFile | null>();
  private readonly trees: Tree[] = [];
  /** a file was not read because MAX_FILES were read already */
  limited = false;

  constructor(
    readonly entry: SourceFile,
    private readonly sources: ShapeSources,
  ) {
    if (entry.path) this.files.set(entry.path, entry);
  }

  /** Parses and remembers a file; null when it cannot be read (or too many files were read already). */
  load(file: string): SourceFile | null {
    const cached = this.files.get(file);
    if (cached !== undefined) return cached;
    if (this.files.size >= MAX_FILES) {
      this.limited = true;
      return null;
    }
    const text = this.sources.read?.(file);
    if (text === undefined) {
      this.files.set(file, null);
      return null;
    }
    const tree = parse('python', text);
    this.trees.push(tree);
    const f: SourceFile = { path: file, text, root: tree.rootNode };
    this.files.set(file, f);
    return f;
  }

  /**
   * The file a `from <dots><dotted> import` names, seen from `from`: relative imports from the
   * importing file's package; absolute ones from its folder (and the folders above it), or a file
   * given on the command line whose module path ends like the import. Libraries are never files.
   */
  resolve(fromFile: string, dots: number, dotted: string): SourceFile | null {
    const parts = dotted ? dotted.split('.') : [];
    if (!fromFile && dots > 0) return null;
    if (dots === 0 && (parts.length === 0 || LIBRARIES.has(parts[0]))) return null;
    const candidates: string[] = [];
    const asFile = (dir: string) => {
      if (parts.length === 0) {
        candidates.push(path.join(dir, '__init__.py'));
        return;
      }
      candidates.push(path.join(dir, ...parts) + '.py', path.join(dir, ...parts, '__init__.py'));
    };
    if (dots > 0) {
      let dir = path.dirname(fromFile);
      for (let i = 1; i < dots; i++) dir = path.dirname(dir);
      asFile(dir);
    } else {
      if (fromFile) {
        let dir = path.dirname(fromFile);
        for (let i = 0; i < 4; i++) {
          asFile(dir);
          const up = path.dirname(dir);
          if (up === dir) break;
          dir = up;
        }
      }
      // the paths the user named: files whose module path ends like the import, and folders as roots
      const suffix = path.join(...parts) + '.py';
      for (const f of this.sources.files ?? []) {
        const abs = path.resolve(f);
        if (abs.endsWith('.py')) {
          if (abs.endsWith(path.sep + suffix)) candidates.push(abs);
        } else asFile(abs);
      }
    }
    for (const c of candidates) {
      const f = this.load(c);
      if (f) return f;
    }
    return null;
  }

  dispose(): void {
    for (const t of this.trees) t.delete();
    this.trees.length = 0;
  }
}
