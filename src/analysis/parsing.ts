/**
 * Tree-sitter parsers, grammars and queries. All are WASM objects: load them once with
 * `initParsing()`, then everything here is synchronous.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Language, Parser, Query, type Node, type Point, type QueryMatch, type Tree } from 'web-tree-sitter';

export type LanguageId = 'python' | 'javascript' | 'typescript' | 'tsx';

const GRAMMAR_FILES: Record<LanguageId, string> = {
  python: 'tree-sitter-python.wasm',
  javascript: 'tree-sitter-javascript.wasm',
  typescript: 'tree-sitter-typescript.wasm',
  tsx: 'tree-sitter-tsx.wasm',
};

/** Where a development checkout keeps each grammar (node_modules) relative to the package root. */
const GRAMMAR_PACKAGES: Record<LanguageId, string> = {
  python: 'tree-sitter-python',
  javascript: 'tree-sitter-javascript',
  typescript: 'tree-sitter-typescript',
  tsx: 'tree-sitter-typescript',
};

const EXTENSIONS: Record<string, LanguageId> = {
  '.py': 'python',
  '.pyi': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.jsx': 'javascript',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.tsx': 'tsx',
};

export function languageForPath(file: string): LanguageId | undefined {
  return EXTENSIONS[path.extname(file).toLowerCase()];
}

/**
 * The folder that holds `queries/` (and, in a bundle, `wasm/`): the package root in a checkout,
 * the `dist` folder in a bundle. Found by walking up from this module.
 */
export function resourceRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'queries', 'python'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`SepConv resources (queries/) not found above ${__dirname}`);
}

function grammarPath(root: string, id: LanguageId): string {
  const bundled = path.join(root, 'wasm', GRAMMAR_FILES[id]);
  if (fs.existsSync(bundled)) return bundled;
  return path.join(root, 'node_modules', GRAMMAR_PACKAGES[id], GRAMMAR_FILES[id]);
}

interface Loaded {
  root: string;
  languages: Map<LanguageId, Language>;
  parsers: Map<LanguageId, Parser>;
  queries: Map<string, Query>;
}

let loaded: Loaded | undefined;
let runtime: Promise<Loaded> | undefined;
const grammars = new Map<LanguageId, Promise<void>>();

/** The part of the WebAssembly API used here (the project's TypeScript libraries do not declare it). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  instantiate: (bytes: Uint8Array, imports: object) => Promise<{ module: object; instance: { exports: object } }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

/** Compiles and instantiates `bytes` on this thread, synchronously. */
function instantiateHere(bytes: Uint8Array, imports: object): { module: object; instance: { exports: object } } {
  const module = new wasmApi.Module(bytes);
  return { module, instance: new wasmApi.Instance(module, imports) };
}

/**
 * web-tree-sitter compiles the runtime and each grammar with `WebAssembly.instantiate`, whose
 * compilation runs on V8's background threads: the server keeps those to one (`--v8-pool-size=1`)
 * and the other thread's work keeps it busy, so a worker thread waited 150-300 ms at start-up for
 * the 200 KB runtime and the 450 KB Python grammar that compile in 5-20 ms on its own thread. Both
 * are compiled here instead: the runtime through Emscripten's `instantiateWasm` option, a grammar
 * with `WebAssembly.instantiate` answering from this thread for the duration of its load (the loads
 * go one at a time, so no other caller sees it).
 */
let grammarLoads: Promise<unknown> = Promise.resolve();
function loadGrammar(bytes: Uint8Array): Promise<Language> {
  const load = grammarLoads.then(async () => {
    const original = wasmApi.instantiate;
    wasmApi.instantiate = (b, imports) => Promise.resolve(instantiateHere(b, imports));
    try {
      return await Language.load(bytes);
    } finally {
      wasmApi.instantiate = original;
    }
  });
  grammarLoads = load.catch(() => undefined);
  return load;
}

/**
 * Loads the tree-sitter runtime and the grammars `ids` (every grammar by default); parsing in one
 * of them is synchronous once this has resolved. Safe to call more than once, for more grammars.
 */
export function initParsing(ids: readonly LanguageId[] = Object.keys(GRAMMAR_FILES) as LanguageId[]): Promise<void> {
  runtime ??= (async () => {
    const root = resourceRoot();
    const bundled = path.join(root, 'wasm', 'tree-sitter.wasm');
    const wasm = fs.existsSync(bundled) ? bundled : path.join(root, 'node_modules', 'web-tree-sitter', 'tree-sitter.wasm');
    await Parser.init({
      locateFile: () => wasm,
      instantiateWasm: (imports: object, receive: (instance: object, module: object) => void) => {
        const { module, instance } = instantiateHere(fs.readFileSync(wasm), imports);
        receive(instance, module);
        return instance.exports;
      },
    });
    return (loaded = { root, languages: new Map(), parsers: new Map(), queries: new Map() });
  })();
  const r = runtime;
  return Promise.all(
    ids.map((id) => {
      let g = grammars.get(id);
      if (!g) {
        g = r.then(async (s) => {
          s.languages.set(id, await loadGrammar(fs.readFileSync(grammarPath(s.root, id))));
        });
        grammars.set(id, g);
      }
      return g;
    }),
  ).then(() => undefined);
}

function state(): Loaded {
  if (!loaded) throw new Error('initParsing() must finish before parsing');
  return loaded;
}

export function language(id: LanguageId): Language {
  const l = state().languages.get(id);
  if (!l) throw new Error(`initParsing() must load the ${id} grammar before parsing it`);
  return l;
}

/** One parser per language, reused. */
function parser(id: LanguageId): Parser {
  const s = state();
  let p = s.parsers.get(id);
  if (!p) {
    p = new Parser();
    p.setLanguage(language(id));
    s.parsers.set(id, p);
  }
  return p;
}

/**
 * Text handed to tree-sitter at a time. Given a string, web-tree-sitter copies up to 10 KB into WASM
 * memory each time the lexer starts somewhere new; an incremental reparse starts at a few places
 * and reads little at each, so small pieces halve its slow cases (a full parse takes as long).
 */
const READ_CHUNK = 256;

/** Parses `text`; with `oldTree` (already `edit()`ed) the parse is incremental. */
export function parse(id: LanguageId, text: string, oldTree?: Tree): Tree {
  let parsing = true;
  // the tree keeps the function to read its nodes' texts: small pieces for the parse only, then
  // whole slices (a node's text would otherwise be joined from pieces)
  const read = (i: number) => (parsing ? text.slice(i, i + READ_CHUNK) : text.slice(i));
  const tree = oldTree ? parser(id).parse(read, oldTree) : parser(id).parse(text);
  parsing = false;
  if (!tree) throw new Error(`tree-sitter gave no tree for ${id}`);
  return tree;
}

/**
 * Parses only the part of `text` between two offsets (tree-sitter's included ranges): its nodes
 * are at their offsets in the whole text, and nothing outside it is read.
 */
export function parseRange(id: LanguageId, text: string, start: number, end: number, startPosition: Point, endPosition: Point): Tree {
  const read = (i: number) => text.slice(i, Math.min(i + READ_CHUNK, end));
  const tree = parser(id).parse(read, null, { includedRanges: [{ startIndex: start, endIndex: end, startPosition, endPosition }] });
  if (!tree) throw new Error(`tree-sitter gave no tree for ${id}`);
  return tree;
}

/**
 * The query `queries/<dir>/<name>.scm` compiled for grammar `id`. `dir` defaults to the grammar's
 * family (python, or javascript for the three JS/TS grammars).
 */
export function query(id: LanguageId, name: string): Query {
  const s = state();
  const dir = id === 'python' ? 'python' : 'javascript';
  const key = `${id}/${dir}/${name}`;
  let q = s.queries.get(key);
  if (!q) {
    const source = fs.readFileSync(path.join(s.root, 'queries', dir, `${name}.scm`), 'utf8');
    q = new Query(language(id), source);
    s.queries.set(key, q);
  }
  return q;
}

/**
 * Compiles every query of grammar `id`'s family now rather than at its first use (a hundred
 * milliseconds or two for Python's): the language server does it once the grammar is loaded, before
 * the first document's hints need them.
 */
export function compileQueries(id: LanguageId): void {
  const dir = id === 'python' ? 'python' : 'javascript';
  for (const f of fs.readdirSync(path.join(state().root, 'queries', dir))) if (f.endsWith('.scm')) query(id, f.slice(0, -4));
}

/** Every query file, for the test that compiles all of them for every grammar. */
export function queryFiles(): { dir: string; name: string }[] {
  const root = path.join(resourceRoot(), 'queries');
  return fs.readdirSync(root).flatMap((dir) =>
    fs
      .readdirSync(path.join(root, dir))
      .filter((f) => f.endsWith('.scm'))
      .map((f) => ({ dir, name: f.slice(0, -4) })),
  );
}

/**
 * The rows (0-based, first..last inclusive, merged) of the lines on which `pattern` matches. A cheap
 * text scan that lets queries visit only the lines that can hold what they look for.
 */
export function rowsMatching(text: string, pattern: RegExp): [number, number][] {
  const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
  const rows: [number, number][] = [];
  let row = 0;
  let scanned = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    for (let i = text.indexOf('\n', scanned); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) row++;
    scanned = m.index;
    const last = rows[rows.length - 1];
    if (last && last[1] >= row - 1) last[1] = row;
    else rows.push([row, row]);
    if (m[0].length === 0) re.lastIndex++;
  }
  return rows;
}

/**
 * Matches of query `name` of grammar `id` in nodes that intersect the given rows (from
 * `rowsMatching`); with no rows the query is not even compiled (a file without a `.weight` read
 * never needs `references`).
 */
export function matchesOnRows(id: LanguageId, name: string, root: Node, rows: [number, number][]): QueryMatch[] {
  if (rows.length === 0) return [];
  const q = query(id, name);
  return rows.flatMap(([first, last]) =>
    q.matches(root, { startPosition: { row: first, column: 0 }, endPosition: { row: last + 1, column: 0 } }),
  );
}
