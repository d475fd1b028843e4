/**
 * What the names in a Python file refer to, as far as torch.nn goes: `nn` -> `torch.nn`,
 * `C` -> `torch.nn.Conv2d` after `from torch.nn import Conv2d as C`, and so on.
 */
import type { Node, Tree } from 'web-tree-sitter';
import type { Span } from '../model';
import { matchesOnRows, rowsMatching } from '../parsing';

/**
 * A `from X import a, b` statement as plain data (the tree it came from is deleted after the
 * analysis, so no tree-sitter node may outlive it).
 */
export interface FromImport {
  /** the module as written, white space removed (`torch.nn`, `torch.nn.modules.conv`) */
  module: string;
  span: Span;
  /** the imported names (`Conv2d` of `Conv2d as C`) and where each item stands, for adding `Sequential` */
  names: { name: string; span: Span }[];
}

export interface ImportBinding {
  /** dotted path the local name stands for */
  target: string;
  /** the `from X import ...` statement that made it, for adding names next to it */
  statement?: FromImport;
}

export interface ImportMap {
  bindings: Map<string, ImportBinding>;
  /** modules imported with `*` */
  starModules: string[];
  /** `from torch.nn import ...` statements, for adding `Sequential` and friends */
  fromTorchNn: FromImport[];
}

/** Submodules of torch.nn whose classes are re-exported as torch.nn.<Class>. */
const NN_SUBMODULES = /^torch\.nn\.modules(\.[a-z_]+)?\./;

export function canonical(dotted: string): string {
  // most paths are not under torch.nn.modules (the interpreter asks for every library call's)
  return dotted.startsWith('torch.nn.modules') ? dotted.replace(NN_SUBMODULES, 'torch.nn.') : dotted;
}

function fromImport(statement: Node, from: Node): FromImport {
  const names = statement.childrenForFieldName('name').filter((n) => n !== null);
  return {
    module: from.text.replace(/\s+/g, ''),
    span: { start: statement.startIndex, end: statement.endIndex },
    names: names.map((n) => ({
      name: (n.type === 'aliased_import' ? n.childForFieldName('name')! : n).text,
      span: { start: n.startIndex, end: n.endIndex },
    })),
  };
}

/** Lines that can start an import statement. */
const IMPORT_LINE = /^[ \t]*(?:import|from)[ \t\\]/m;

export function collectImports(tree: Tree, text: string): ImportMap {
  const map: ImportMap = { bindings: new Map(), starModules: [], fromTorchNn: [] };
  for (const m of matchesOnRows('python', 'imports', tree.rootNode, rowsMatching(text, IMPORT_LINE))) {
    const cap = (n: string) => m.captures.find((c) => c.name === n)?.node;
    const module = cap('module');
    const from = cap('from');
    const name = cap('name');
    const alias = cap('alias');
    const stmtNode = cap('statement');
    const statement = stmtNode && from ? fromImport(stmtNode, from) : undefined;
    if (from && cap('star')) {
      map.starModules.push(canonical(from.text));
    } else if (from && name) {
      const target = canonical(`${from.text}.${name.text}`);
      map.bindings.set(alias?.text ?? name.text, { target, statement });
      if (statement && canonical(from.text) === 'torch.nn' && !map.fromTorchNn.some((s) => s.span.start === statement.span.start)) {
        map.fromTorchNn.push(statement);
      }
    } else if (module && alias) {
      map.bindings.set(alias.text, { target: canonical(module.text) });
    } else if (module) {
      const head = module.text.split('.')[0];
      map.bindings.set(head, { target: head });
    }
  }
  return map;
}

/**
 * The dotted path a callee expression names (`nn.Conv2d` -> `torch.nn.Conv2d`), or undefined when
 * its head is not an import. Without any import of `nn`/`torch` in the text (a notebook cell, a
 * snippet) those two names still mean torch.nn and torch, unless the file binds them otherwise.
 */
export function resolveDotted(dotted: string, imports: ImportMap, definedNames: ReadonlySet<string>): string | undefined {
  const parts = dotted.split('.');
  const head = parts[0];
  const rest = parts.slice(1);
  const bound = imports.bindings.get(head);
  let base: string | undefined = bound?.target;
  if (!base && !definedNames.has(head)) {
    if (head === 'nn') base = 'torch.nn';
    else if (head === 'torch') base = 'torch';
    else if (rest.length === 0 && imports.starModules.includes('torch.nn')) base = `torch.nn.${head}`;
  }
  if (!base) return undefined;
  return canonical([base, ...rest].join('.'));
}

/** The local expression that names `torch.nn.<cls>` given the style of a callee (`nn.`, `torch.nn.`, bare). */
export function localNameFor(cls: string, calleeDotted: string, imports: ImportMap): { text: string; needsImport: boolean } {
  const parts = calleeDotted.split('.');
  if (parts.length > 1) return { text: [...parts.slice(0, -1), cls].join('.'), needsImport: false };
  for (const [local, b] of imports.bindings) if (b.target === `torch.nn.${cls}`) return { text: local, needsImport: false };
  if (imports.starModules.includes('torch.nn')) return { text: cls, needsImport: false };
  return { text: cls, needsImport: true };
}
