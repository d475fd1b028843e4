/**
 * What the names in a JavaScript/TypeScript file refer to in TensorFlow.js: `tf` (however imported),
 * `layers`, `L`, a destructured `conv2d`. Found with `queries/javascript/imports.scm`; every binding
 * maps a local name to a path under the tfjs namespace: '' is the namespace itself, 'layers' is
 * `tf.layers`, 'layers.conv2d' is `tf.layers.conv2d`, 'sequential' is `tf.sequential`.
 */
import type { Node, Tree } from 'web-tree-sitter';
import type { Span } from '../model';
import { matchesOnRows, rowsMatching, type LanguageId } from '../parsing';
import { nodeSpan as span } from '../syntax';

/** The packages that export the tfjs namespace (`tf.layers`, `tf.sequential`, `tf.input`, ...). */
export const TFJS_PACKAGE = /^@tensorflow\/tfjs(-node|-node-gpu|-layers)?$/;

export interface TfjsBinding {
  /** path under the tfjs namespace */
  path: string;
  /** the statement that binds it */
  statement: Span;
  /** the `{...}` destructuring pattern, when the name comes from one: the rewrite adds names to it */
  pattern?: PatternSite;
}

/** Where names can be added to a destructuring pattern (`const {conv2d, flatten} = tf.layers`). */
export interface PatternSite {
  span: Span;
  /** end of the last element */
  lastEnd: number;
  multiline: boolean;
  trailingComma: boolean;
  /** indentation of the elements (multi-line patterns) */
  indent: string;
}

export interface TfjsImports {
  bindings: Map<string, TfjsBinding>;
  /** the file imports or requires a tfjs package */
  importsTfjs: boolean;
  /** `tf` is not bound by the file: a global `tf` (script tag, notebook) is taken as the namespace */
  implicitTf: boolean;
}

/** Every name the file declares itself (variables, functions, classes, parameters, imports). */
function declaredNames(root: Node): Set<string> {
  const out = new Set<string>();
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type === 'variable_declarator' || n.type === 'function_declaration' || n.type === 'class_declaration') {
      const name = n.childForFieldName('name');
      if (name?.type === 'identifier' || name?.type === 'type_identifier') out.add(name.text);
    }
    if (n.type === 'import_specifier' || n.type === 'namespace_import' || n.type === 'import_clause') {
      for (const c of n.namedChildren) if (c?.type === 'identifier') out.add(c.text);
    }
    if (n.type === 'shorthand_property_identifier_pattern') out.add(n.text);
    if (n.type === 'formal_parameters') {
      for (const p of n.namedChildren) {
        const id = p?.type === 'identifier' ? p : (p?.childForFieldName('pattern') ?? p?.childForFieldName('left'));
        if (id?.type === 'identifier') out.add(id.text);
      }
    }
    for (const c of n.namedChildren) if (c) stack.push(c);
  }
  return out;
}

function patternSite(p: Node): PatternSite {
  const elements = p.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');
  const last = elements[elements.length - 1];
  const tokens = p.children.filter((c): c is Node => c !== null);
  const beforeClose = tokens[tokens.length - 2];
  const text = p.tree.rootNode.text;
  const lineStart = last ? text.lastIndexOf('\n', last.startIndex - 1) + 1 : 0;
  return {
    span: span(p),
    lastEnd: last ? last.endIndex : p.startIndex + 1,
    multiline: p.startPosition.row !== p.endPosition.row,
    trailingComma: beforeClose?.type === ',',
    indent: last ? /^[ \t]*/.exec(text.slice(lineStart))![0] : '',
  };
}

/** Lines that can hold a `tf.layers.<op>(...)` call under the names this file binds. */
export function layerCallPattern(imports: TfjsImports): RegExp {
  const esc = (s: string) => s.replace(/[$]/g, '\\$&');
  const alternatives = ['\\blayers\\s*\\.'];
  for (const [name, b] of imports.bindings) {
    if (b.path === 'layers') alternatives.push(`(?<![\\w$.])${esc(name)}\\s*\\.`);
    else if (b.path.startsWith('layers.')) alternatives.push(`(?<![\\w$.])${esc(name)}\\s*\\(`);
  }
  return new RegExp(alternatives.join('|'));
}

/** `tf.layers` -> its path when `tf` is bound, else undefined. */
export function resolveTfjsPath(text: string, imports: TfjsImports): string | undefined {
  const parts = text.replace(/\s+/g, '').replace(/\?\./g, '.').split('.');
  const head = parts[0];
  const b = imports.bindings.get(head);
  let base: string | undefined;
  if (b) base = b.path;
  else if (head === 'tf' && imports.implicitTf) base = '';
  if (base === undefined) return undefined;
  return [base, ...parts.slice(1)].filter((p) => p !== '').join('.');
}

/** Lines that can bring tfjs in: imports, requires, and aliases of `tf` or `layers`. */
const IMPORT_LINE = /\bimport\b|\brequire\b|\btf\b|\blayers\b/;

export function collectTfjsImports(tree: Tree, id: LanguageId, text: string): TfjsImports {
  const bindings = new Map<string, TfjsBinding>();
  let importsTfjs = false;
  const aliases: { alias: string; name?: string; from: Node; statement: Node; pattern?: Node }[] = [];
  for (const m of matchesOnRows(id, 'imports', tree.rootNode, rowsMatching(text, IMPORT_LINE))) {
    const cap = (name: string) => m.captures.find((c) => c.name === name)?.node;
    const statement = cap('statement')!;
    const source = cap('source');
    const from = cap('from');
    const name = cap('name');
    const alias = cap('alias');
    const namespace = cap('namespace');
    if (source) {
      if (!TFJS_PACKAGE.test(source.text)) continue;
      importsTfjs = true;
      if (namespace) bindings.set(namespace.text, { path: '', statement: span(statement) });
      else if (name) bindings.set((alias ?? name).text, { path: name.text, statement: span(statement) });
    } else if (from) {
      aliases.push({ alias: (alias ?? name)!.text, name: name?.text, from, statement, pattern: cap('pattern') });
    }
  }
  // a global `tf` unless the file declares its own (the walk over every node only when it could)
  const implicitTf = bindings.has('tf') || !/\btf\b/.test(text) || !declaredNames(tree.rootNode).has('tf');
  const imports: TfjsImports = { bindings, importsTfjs, implicitTf };
  // `const layers = tf.layers`, `const {conv2d} = layers`: resolve until nothing changes
  for (let round = 0; round < 4; round++) {
    let changed = false;
    for (const a of aliases) {
      if (bindings.has(a.alias)) continue;
      const base = resolveTfjsPath(a.from.text, imports);
      if (base === undefined) continue;
      const path = [base, a.name].filter((p) => p !== undefined && p !== '').join('.');
      bindings.set(a.alias, { path, statement: span(a.statement), pattern: a.pattern ? patternSite(a.pattern) : undefined });
      changed = true;
    }
    if (!changed) break;
  }
  return imports;
}
