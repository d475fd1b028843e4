/**
 * The files a model is spread over: the analysed file, the files it imports relatively
 * (`from .blocks import BasicBlock`), sibling modules imported by name (`from blocks import X`, as
 * Python finds them next to a script), the files named on the command line and the source of the
 * packages installed in the workspace's Python environment (`from torchvision.ops import
 * Conv2dNormActivation`, `import timm`: its `sys.path`, read in place). Files are read
 * through a callback (the CLI reads the disk, an editor its open buffers) and parsed into plain
 * syntax trees (`syntax.ts`), kept per thread while their text is the same: the library files every
 * model file of a folder imports (torchvision's `ops/misc.py`, `_utils.py`) are parsed once a run.
 */
import * as path from 'node:path';
import type { Tree } from 'web-tree-sitter';
import type { PythonEnvironment } from '../../environment';
import type { ShapeSources } from '../../files';
import { Interrupted } from '../../kernel/budget';
import { parse, parseRange } from '../../parsing';
import { outline } from './outline';
import { asNode, copyTree, type SyntaxNode, type SyntaxTree } from './syntax';
import { STDLIB } from './stdlib';
import type { SourceFile } from './values';

export type { ShapeSources };

/**
 * Plain trees of files read by path, per thread, while their text is the same string or equal;
 * bounded by their texts' total size (a plain tree takes some 50 times its text).
 */
const plainFiles = new Map<string, SourceFile>();
let plainBytes = 0;
let plainLimit = 1 << 20;

/** How much source text the per-thread cache of plain trees may hold (the CLI gives it more than the editor). */
export function setPlainCacheLimit(bytes: number): void {
  plainLimit = bytes;
  evict();
}

function evict(): void {
  for (const [k, f] of plainFiles) {
    if (plainBytes <= plainLimit) break;
    plainFiles.delete(k);
    plainBytes -= f.text.length;
  }
}

/**
 * The last copy of each of the few documents most recently analysed (read with `keep: false`): the
 * same copy while their text is the same (a hover's run, then the full analysis), and where the
 * next version's copy starts from (`copyTree`'s `previous`).
 */
const documents = new Map<string, SourceFile>();
const MAX_DOCUMENTS = 2;

/**
 * The file at `file` with this text as the interpreter reads it: a plain copy of `tree` (or of a
 * parse of `text` when no tree is given), the same copy for the same path and text while the cache
 * keeps it. Copies are immutable once read; the caller's tree stays the caller's. `keep: false`
 * (the document being analysed, whose versions an editor makes by the thousand) leaves the cache to
 * the files read by path: each kept copy holds a WebAssembly tree, memory the heap never gives back;
 * only the last version of a few documents is kept (`documents`), and a new version's copy starts
 * from it. A file read by path is parsed in outline (`libraryCopy`) unless `inOutline` is false (a
 * file the command analyses itself: `namedByUser`).
 */
export function plainFile(file: string, text: string, tree?: Tree, keep = true, inOutline = true): SourceFile {
  const cache = keep ? plainFiles : documents;
  const known = file ? cache.get(file) : undefined;
  if (known && known.text === text) {
    // most recently used last
    cache.delete(file);
    cache.set(file, known);
    return known;
  }
  // the other cache's copy of the same text: a file a model imported, then analysed itself (a
  // command over a folder), or the reverse; one parse serves both
  // (a document's copy is never an outline's: its next version's copy starts from it)
  const other = file ? (keep ? documents : plainFiles).get(file) : undefined;
  if (other && other.text === text && (keep || !outlined(other))) return hold(file, other, keep, known);
  // the copy owns its tree: the caller's is copied (cheap in tree-sitter: nodes are shared)
  const previous = !keep && known ? (known.root as unknown as SyntaxNode).tree : undefined;
  const copy = tree
    ? copyTree(tree.copy(), text, previous)
    : keep && inOutline
      ? libraryCopy(text)
      : copyTree(parse('python', text), text, previous);
  const root = asNode(copy.rootNode);
  const f: SourceFile = { path: file, text, root };
  if (!file || text.length > plainLimit) return f;
  return hold(file, f, keep, known);
}

/**
 * Whether `file` is one the user named or lies in a folder the user named (the command's paths):
 * a file the command analyses itself, whose whole parse its own analysis needs anyway (a copy of
 * that parse serves both, `heldParse`); others are read in outline.
 */
export function namedByUser(sources: ShapeSources, file: string): boolean {
  return (sources.files ?? []).some((p) => file === p || file.startsWith(p.endsWith(path.sep) ? p : p + path.sep));
}

/**
 * The copy of a file read by path (a library module a model imports): of its outline's parse
 * (`outline.ts`), its functions' bodies and docstrings parsed when the interpreter first reads them; of the whole
 * text's parse where it has no outline, or the outline does not parse.
 */
function libraryCopy(text: string): SyntaxTree {
  const o = outline(text);
  if (o) {
    const tree = parse('python', o.text);
    if (!tree.rootNode.hasError) {
      return copyTree(tree, text, undefined, {
        ends: o.ends,
        strings: o.strings,
        at: o.at,
        shift: o.shift,
        parse: (start, end, startPosition, endPosition) => parseRange('python', text, start, end, startPosition, endPosition),
        whole: () => parse('python', text),
      });
    }
    tree.delete();
  }
  return copyTree(parse('python', text), text);
}

const outlined = (f: SourceFile) => (f.root as unknown as SyntaxNode).tree.leftOut !== undefined;

/** `f` kept as the copy of `file` in the cache `keep` chooses, in place of `known`. */
function hold(file: string, f: SourceFile, keep: boolean, known: SourceFile | undefined): SourceFile {
  if (!keep) {
    documents.delete(file);
    documents.set(file, f);
    for (const k of documents.keys()) if (documents.size > MAX_DOCUMENTS) documents.delete(k);
    return f;
  }
  if (known) {
    plainFiles.delete(file);
    plainBytes -= known.text.length;
  }
  plainFiles.set(file, f);
  plainBytes += f.text.length;
  evict();
  return f;
}

/**
 * The parse of `file` at `text` that a plain copy this thread keeps was read from (a file a model
 * imported, or a document just analysed; for a copy of an outline, the whole text's parse it makes
 * once), for an analysis of the same text: read it, never delete it. `holder` is the copy, which
 * deletes the tree once unreachable: keep it while the tree is read.
 */
export function heldParse(file: string, text: string): { tree: Tree; holder: SourceFile } | undefined {
  const f = [plainFiles.get(file), documents.get(file)].find((c) => c?.text === text);
  if (!f) return undefined;
  return { tree: (f.root as unknown as SyntaxNode).tree.wholeParse(), holder: f };
}

/**
 * A model spans a few files of its own and some of its libraries' (torchvision's `ops`, `_api`,
 * `utils`); imports are followed lazily, name by name, and never past this many files.
 */
export const MAX_FILES = 256;

/**
 * Top-level packages that are modelled natively (torch) or need no source (the standard library's
 * usual ones): never looked up among the user's files or the environment's packages.
 */
const LIBRARIES = new Set([
  'torch',
  'numpy',
  'np',
  'math',
  'typing',
  'collections',
  'functools',
  'itertools',
  'copy',
  'os',
  'sys',
  're',
  'warnings',
  'logging',
  'abc',
  'dataclasses',
  'enum',
  'json',
  'random',
  'time',
  'einops',
  'operator',
  'types',
  'inspect',
  'pathlib',
  'argparse',
  'typing_extensions',
  '__future__',
  // installed packages that build no modules (images, data, I/O, progress, logging): kept opaque, never read
  'PIL',
  'cv2',
  'scipy',
  'matplotlib',
  'pandas',
  'sklearn',
  'tqdm',
  'yaml',
  'requests',
  'h5py',
  'accimage',
  'av',
  'sympy',
  'huggingface_hub',
  'safetensors',
  'tensorboard',
  'wandb',
  'onnx',
  'onnxruntime',
]);

/** What a run asked of its sources (files read, the environment, folder listings, the paths named) and got. */
export interface Answers {
  files: [string, string | undefined][];
  /** the environment asked for (JSON), null when it was not asked (or was given with the options) */
  python: string | null;
  listings: [string, string[]][];
  paths: readonly string[] | undefined;
}

/** Whether `sources` answer now what they answered a run (`Program.answers`): then the run would go the same. */
export function sameAnswers(a: Answers, sources: ShapeSources): boolean {
  const same = (x: readonly string[] | undefined, y: readonly string[] | undefined) =>
    x === y || (!!x && !!y && x.length === y.length && x.every((v, i) => v === y[i]));
  return (
    same(a.paths, sources.files) &&
    a.files.every(([f, text]) => sources.read?.(f) === text) &&
    (a.python === null || JSON.stringify(sources.python?.() ?? null) === a.python) &&
    a.listings.every(([dir, names]) => same(names, sources.list?.(dir) ?? []))
  );
}

export class Program {
  private readonly files = new Map<string, SourceFile | null>();
  /** a file was not read because MAX_FILES were read already */
  limited = false;

  /** the environment, once asked (null: not asked yet) */
  private env: PythonEnvironment | undefined | null = null;
  private stdlib: Set<string> | undefined;

  /** `python`: the environment when the front end knew it beforehand; else `sources.python` is asked when first needed */
  constructor(
    readonly entry: SourceFile,
    private sources: ShapeSources,
    private python?: PythonEnvironment,
  ) {
    if (entry.path) this.files.set(entry.path, entry);
  }

  /**
   * Another job's run takes this program over (models.ts `runTopLevel`): when `sources` and `python`
   * answer all it was asked as it was answered, they answer from now on (the new job's reads,
   * interruption and environment) and true; else false, and nothing changes. An environment it
   * asked for must be the one the new job knows already, or none for both: a job still waiting for
   * the interpreter's answer is not made to wait here (its own run waits where an import needs it).
   */
  adopt(sources: ShapeSources, python: PythonEnvironment | undefined): boolean {
    if (!sameAnswers(this.answers(), sources)) return false;
    if (this.env !== null) {
      const same =
        python !== undefined ? JSON.stringify(python) === JSON.stringify(this.env ?? null) : !sources.python && this.env === undefined;
      if (!same) return false;
    }
    this.sources = sources;
    this.python = python;
    return true;
  }

  /** The Python environment, asked for at the first import that is neither the user's nor modelled. */
  private environment(): PythonEnvironment | undefined {
    if (this.env === null) {
      this.env = this.python ?? this.sources.python?.();
      this.stdlib = new Set(this.env?.stdlib ?? []);
    }
    return this.env;
  }

  /** Throws `Interrupted` when the run's result is no longer wanted (`ShapeSources.interrupted`). */
  checkInterrupt(): void {
    if (this.sources.interrupted?.()) throw new Interrupted();
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
    const f = plainFile(file, text, undefined, true, !namedByUser(this.sources, file));
    this.files.set(file, f);
    return f;
  }

  /**
   * The file a `from <dots><dotted> import` names, seen from `from`: relative imports from the
   * importing file's package; absolute ones from its folder (and the folders above it), a file
   * given on the command line whose module path ends like the import, or the environment's
   * packages. Modelled libraries (torch) and the standard library are never files.
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
    return dots === 0 ? this.installed(parts) : null;
  }

  /**
   * The module `parts` names among the environment's packages, as Python finds it: the package in
   * the first folder of `sys.path` that holds it (a folder without `__init__.py`, a namespace
   * package, is looked for in every folder).
   */
  private installed(parts: string[]): SourceFile | null {
    if (STDLIB.has(parts[0])) return null;
    const env = this.environment();
    if (!env || this.stdlib!.has(parts[0])) return null;
    const inside = (dir: string) => this.load(path.join(dir, ...parts) + '.py') ?? this.load(path.join(dir, ...parts, '__init__.py'));
    for (const dir of env.paths) {
      const top = this.load(path.join(dir, parts[0], '__init__.py')) ?? this.load(path.join(dir, parts[0] + '.py'));
      if (top) return parts.length === 1 ? top : inside(dir);
    }
    for (const dir of env.paths) {
      const f = parts.length > 1 ? inside(dir) : null;
      if (f) return f;
    }
    return null;
  }

  /**
   * Why an absolute import that is no file stays unknown: its package is not installed in the
   * environment (or the module is not in it); undefined when it is a library kept opaque (the
   * standard library, torch, a compiled extension module, no environment known).
   */
  missing(dotted: string): string | undefined {
    const head = dotted.split('.')[0];
    if (!head || LIBRARIES.has(head) || STDLIB.has(head)) return undefined;
    const env = this.environment();
    if (!env || this.stdlib!.has(head)) return undefined;
    if (this.limited) return `\`${dotted}\`: not read, ${MAX_FILES} files were read already`;
    const holds = env.paths.some((dir) => this.listing(dir).some((n) => n === head || n.startsWith(head + '.')));
    if (!holds) return `package ${head} is not installed in ${env.interpreter}`;
    if (dotted !== head && this.installed([head])) return `module ${dotted} is not found in ${env.interpreter}`;
    return undefined;
  }

  /** What this run asked of its sources besides the entry, and got: its result holds while they answer the same (`sameAnswers`). */
  answers(): Answers {
    return {
      files: [...this.files].filter(([f]) => f !== this.entry.path).map(([f, src]) => [f, src?.text]),
      python: this.env === null || this.python ? null : JSON.stringify(this.env ?? null),
      listings: [...this.listings],
      paths: this.sources.files,
    };
  }

  private readonly listings = new Map<string, string[]>();

  private listing(dir: string): string[] {
    let names = this.listings.get(dir);
    if (!names) this.listings.set(dir, (names = this.sources.list?.(dir) ?? []));
    return names;
  }

  /** Nothing to free any more (plain trees are garbage collected); kept for the callers' try/finally. */
  dispose(): void {}
}
