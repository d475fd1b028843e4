/**
 * The command's persistent cache of per-file results, as ruff and ESLint keep one: a file whose
 * text, options and every file its result depends on are the same as in an earlier run gets that
 * run's outcome without being analysed again. What a result depends on is recorded, not guessed:
 * every file shape inference read (neighbours, library source, importers; a file that did not
 * exist counts too, it may appear) and every folder it listed. An entry is used only when all of
 * them read the same now, and the sepconv that wrote it is this very build (a hash of its bundle).
 * A result that asked for the Python environment (a file importing an installed package) keeps what
 * the interpreter answered (its `sys.path`, standard library); the entry holds only while the
 * interpreter answers the same (asked once per run, and only to check such entries). `--python`
 * is part of the options.
 *
 * Location: `$SEPCONV_CACHE_DIR`, else `$XDG_CACHE_HOME/sepconv`, else `~/.cache/sepconv`; one
 * folder per build (the others are removed when a build first writes), one entry per analysed
 * path and options. `--no-cache` neither reads nor writes it. A cache that cannot be read or
 * written is no cache: never an error of the run.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import type { PythonEnvironment } from '../analysis/environment';
import type { ShapeSources } from '../analysis/files';

/** What one file's result was computed from, besides its own text and the options. */
export interface Dependencies {
  /** path → text read (undefined: it could not be read) */
  reads: Map<string, string | undefined>;
  /** folder → names listed */
  lists: Map<string, string[]>;
  /** the Python environment as the analysis got it (undefined: none), when it asked */
  python?: { env: PythonEnvironment | undefined };
}

/** `sources` with every read and listing recorded in the returned dependencies. */
export function recording(sources: ShapeSources): { sources: ShapeSources; deps: Dependencies } {
  const deps: Dependencies = { reads: new Map(), lists: new Map() };
  const { read, list, python } = sources;
  return {
    deps,
    sources: {
      ...sources,
      read: read
        ? (f) => {
            const t = read(f);
            deps.reads.set(f, t);
            return t;
          }
        : undefined,
      list: list
        ? (d) => {
            const names = list(d);
            deps.lists.set(d, names);
            return names;
          }
        : undefined,
      python: python
        ? () => {
            const env = python();
            deps.python = { env };
            return env;
          }
        : undefined,
    },
  };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Hashes of texts read, by path, while the text is the same string (library files are read for every model file). */
const textHashes = new Map<string, { text: string; hash: string }>();

function hashOf(file: string, text: string | undefined): string | null {
  if (text === undefined) return null;
  const known = textHashes.get(file);
  if (known?.text === text) return known.hash;
  const hash = sha(text);
  if (textHashes.size >= 1024) textHashes.delete(textHashes.keys().next().value as string);
  textHashes.set(file, { text, hash });
  return hash;
}

const listHash = (names: string[]) => sha([...names].sort().join('\n'));
const pythonHash = (env: PythonEnvironment | undefined) => sha(JSON.stringify(env ?? null));

interface Entry<T> {
  file: string;
  text: string;
  reads: [string, string | null][];
  lists: [string, string][];
  /** the hash of the Python environment the analysis asked for; absent when it did not ask */
  python?: string;
  value: T;
}

/** This build of sepconv: its bundle's content (a run from the TypeScript sources has none: no cache). */
export function buildHash(bundle: string): string | undefined {
  try {
    return sha(fs.readFileSync(bundle, 'latin1')).slice(0, 16);
  } catch {
    return undefined;
  }
}

export class ResultCache<T> {
  private readonly dir: string;
  private cleaned = false;
  /** a write failed (a folder of another user, read-only): nothing more is stored this run */
  private unwritable = false;

  /** `build`: what identifies this sepconv (the bundle's hash); `options`: everything else the results depend on. */
  constructor(
    root: string,
    private readonly build: string,
    private readonly options: string,
  ) {
    this.dir = path.join(root, build);
  }

  /** The path as given (results name it so) and the file it is. */
  private static id(file: string): string {
    return `${file}\u0000${path.resolve(file)}`;
  }

  private entryPath(file: string): string {
    return path.join(this.dir, `${sha(`${this.options}\u0000${ResultCache.id(file)}`).slice(0, 32)}.json`);
  }

  /** The stored result for `file` with this text, when every dependency reads as it did (through `sources`, as the analysis would read it). */
  get(file: string, text: string, sources: ShapeSources): T | undefined {
    let entry: Entry<T>;
    try {
      entry = JSON.parse(fs.readFileSync(this.entryPath(file), 'utf8')) as Entry<T>;
    } catch {
      return undefined;
    }
    if (entry.file !== ResultCache.id(file) || entry.text !== sha(text)) return undefined;
    for (const [f, h] of entry.reads) if (hashOf(f, sources.read?.(f)) !== h) return undefined;
    for (const [d, h] of entry.lists) if (listHash(sources.list?.(d) ?? []) !== h) return undefined;
    if (entry.python !== undefined && pythonHash(sources.python?.()) !== entry.python) return undefined;
    return entry.value;
  }

  put(file: string, text: string, deps: Dependencies, value: T): void {
    if (this.unwritable) return;
    const entry: Entry<T> = {
      file: ResultCache.id(file),
      text: sha(text),
      reads: [...deps.reads].map(([f, t]) => [f, hashOf(f, t)]),
      lists: [...deps.lists].map(([d, names]) => [d, listHash(names)]),
      ...(deps.python ? { python: pythonHash(deps.python.env) } : {}),
      value,
    };
    const target = this.entryPath(file);
    const tmp = `${target}.${process.pid}-${threadId}.tmp`;
    try {
      if (!this.cleaned) this.clean();
      fs.mkdirSync(this.dir, { recursive: true });
      fs.writeFileSync(tmp, JSON.stringify(entry));
      fs.renameSync(tmp, target);
    } catch {
      // a folder this user cannot write (another user's, read-only): the run goes on without storing
      this.unwritable = true;
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // not even searchable: nothing was written
      }
    }
  }

  /** Removes other builds' folders (a new build makes their entries useless). */
  private clean(): void {
    this.cleaned = true;
    const root = path.dirname(this.dir);
    let names: string[];
    try {
      names = fs.readdirSync(root);
    } catch {
      return;
    }
    for (const n of names)
      if (n !== this.build && /^[0-9a-f]{16}$/.test(n)) fs.rmSync(path.join(root, n), { recursive: true, force: true });
  }
}
