/**
 * What one version of a document's analysis leaves for the next, for an editor's keystrokes: typing
 * inside one class or function cannot change what the static analysis says of a conv in another
 * one, so those layers are kept (their offsets moved) instead of evaluated again; the module context
 * (imports, defined names, pragmas) is kept too; and the last full shape-inference run is kept with
 * the names of the top-level definitions edited since, for `focusShapes`.
 *
 * What a layer's static analysis reads outside its own top-level statement: imports, pragmas,
 * module-level names (`definedNames`, the last top-level binding of a name: a whole statement, or a
 * class or function name), `.weight`-style reads anywhere, and the options. A change is kept local
 * only when it provably touches none of these:
 *   - one contiguous change within one line, of word characters, spaces and operators only (no
 *     newline, quote, bracket, comment, colon or backslash: the tokens and lines around it stay the
 *     same), after the first word of an indented line;
 *   - that line, before and after, is no import, pragma, `.weight`-style read or binding of a name
 *     to a module (`w = self.conv`, `for c in [...]`: see references.ts);
 *   - it lies in the body of a top-level `class` or `def` (not a module-level `if` or assignment),
 *     in a text that parses without errors, before and after.
 * Anything else, and any change of options, starts the memo afresh. In the top-level statement
 * that holds the change, layers are evaluated again, except, when the change lies in the value of
 * an assignment (no `=` typed or deleted), those outside it whose evaluation never searched a name
 * it assigns (each layer records the names it searched).
 */
import type { Node, Tree } from 'web-tree-sitter';
import { parentOf } from '../ancestry';
import type { Span } from '../model';
import { lineAt, textChange } from '../textDiff';
import type { ModuleContext, PythonLayer } from './analyze';
import type { FromImport, ImportMap } from './imports';
import { ALIAS_LINE, READ_LINE } from './references';
import type { RunTrace } from './shapes/models';

/** What the last full shape inference of the document ran, for focused runs (`focusShapes`). */
export interface ShapeRecord {
  /** the analysis options it ran with */
  key: string;
  file: string;
  trace: RunTrace;
  /** the files importing this one (whose models a layer without shapes is looked up in), once asked */
  importers?: string[];
}

/** What may change on a kept line: identifiers, numbers, spaces, operators. */
const LOCAL_CHANGE = /^[\w .,+\-*/%=<>!&|^~]*$/;
/** Lines whose change reaches other statements: imports, pragmas, argparse options, reads of conv attributes, names bound to modules. */
const NONLOCAL_LINE = new RegExp(`\\b(?:import|from)\\b|sepconv:|add_argument|${READ_LINE.source}|${ALIAS_LINE.source}`);
/** Past this many edits the kept layers are moved once and the log starts again. */
const MAX_LOG = 256;

interface Edit {
  /** end of the replaced text, in the text before the edit */
  oldEnd: number;
  /** how much longer the text became */
  delta: number;
}

/** An offset of the text before `e` (outside the text it replaced) in the text after it. */
function across(o: number, e: Edit): number {
  return o >= e.oldEnd ? o + e.delta : o;
}

interface Kept {
  layer: PythonLayer;
  /** index in the edit log at which `layer`'s offsets were true */
  from: number;
  /** the names whose bindings its evaluation searched; unknown: any edit of its definition drops it */
  searched: ReadonlySet<string> | undefined;
}

export class LayerMemo {
  private text: string | undefined;
  private key = '';
  /** by the call's start offset in `text` */
  private kept = new Map<number, Kept>();
  private log: Edit[] = [];
  readonly stats = { kept: 0, evaluated: 0, resets: 0 };
  /**
   * The module context of the current version, once an analysis computed it; a local change
   * keeps it (moved), anything else drops it.
   */
  context: ModuleContext | undefined;
  /** the last full run and the top-level classes and functions edited since */
  shapes: (ShapeRecord & { at: number; changed: Set<string> }) | undefined;
  /** a version other than the first was analysed (the document is being typed in) */
  edited = false;

  /**
   * Moves the memo to a new version of the text. Returns the lookup of kept layers for the calls of
   * this version, or undefined when nothing can be kept (the memo then starts afresh).
   */
  begin(text: string, tree: Tree, key: string): (call: Node) => PythonLayer | undefined {
    const previous = this.text;
    this.text = text;
    if (previous !== undefined && previous !== text) this.edited = true;
    const clean = !tree.rootNode.hasError;
    if (previous === undefined || key !== this.key || !clean || !this.carry(previous, text, tree)) {
      this.key = key;
      this.kept.clear();
      this.log = [];
      this.context = undefined;
      this.shapes = undefined;
      if (previous !== undefined) this.stats.resets++;
      return () => undefined;
    }
    return (call) => {
      const k = this.kept.get(call.startIndex);
      if (!k || k.layer.span.end - k.layer.span.start !== call.endIndex - call.startIndex) return undefined;
      const layer = this.materialize(k);
      if (layer.span.end !== call.endIndex) return undefined;
      this.stats.kept++;
      return copy(layer);
    };
  }

  /** A full shape inference of this version ran: later versions may re-run only what their edits touch. */
  recordShapes(record: ShapeRecord): void {
    this.shapes = { ...record, at: this.log.length, changed: new Set() };
  }

  /** Keeps a layer just evaluated for this version (a snapshot: callers may change theirs). */
  record(layer: PythonLayer, tree: Tree, searched?: ReadonlySet<string>): void {
    this.stats.evaluated++;
    if (tree.rootNode.hasError) return;
    this.kept.set(layer.span.start, { layer: copy(layer), from: this.log.length, searched });
  }

  /**
   * Carries the kept layers over a change from `before` to `after`: false when the change is not
   * local (see the file comment). Drops the layers of the statement that holds the change.
   */
  private carry(before: string, after: string, tree: Tree): boolean {
    if (before === after) return true;
    const { start: at, oldEnd, newEnd } = textChange(before, after);
    if (!LOCAL_CHANGE.test(before.slice(at, oldEnd)) || !LOCAL_CHANGE.test(after.slice(at, newEnd))) return false;
    const lineStart = after.lastIndexOf('\n', at - 1) + 1;
    // indented, and past the line's first word: the indentation and the statement's start stay
    if (!/^[ \t]+\S/.test(after.slice(lineStart, at))) return false;
    if (NONLOCAL_LINE.test(lineAt(before, at)) || NONLOCAL_LINE.test(lineAt(after, at))) return false;
    const edited = tree.rootNode.descendantForIndex(at, at);
    const stmt = edited ? topLevelStatement(tree, edited) : undefined;
    const def = stmt?.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
    if (!stmt || !def || (def.type !== 'class_definition' && def.type !== 'function_definition')) return false;
    const body = def.childForFieldName('body');
    if (!body || at < body.startIndex) return false;
    const delta = newEnd - oldEnd;
    const edit: Edit = { oldEnd, delta };
    // in the definition that holds the change, layers go unless the change is in the value of an
    // assignment whose targets their evaluation never looked up (`self.conv1 = nn.Conv2d(in_ch2, ...)`
    // leaves `self.conv2 = nn.Conv2d(out_ch, ...)` as it was)
    // (an `=` typed or deleted could change what the statement assigns: not so for other characters)
    const assignment =
      !edited || /=/.test(before.slice(at, oldEnd) + after.slice(at, newEnd)) ? undefined : assignmentHolding(edited, at, stmt);
    // node bounds read once (each read is a call into WASM), in the old text's offsets
    const bounds = (node: Node) => [node.startIndex, node.endIndex - delta] as const;
    const [stmtStart, stmtEnd] = bounds(stmt);
    const [assignStart, assignEnd] = assignment ? bounds(assignment.statement) : [0, 0];
    const moved = new Map<number, Kept>();
    for (const [start, k] of this.kept) {
      if (start >= stmtStart && start < stmtEnd) {
        if (!assignment || !k.searched || (start >= assignStart && start < assignEnd)) continue;
        if ([...k.searched].some((n) => assignment.targets.has(n))) continue;
      }
      moved.set(across(start, edit), k);
    }
    this.kept = moved;
    if (this.context && delta !== 0) this.context = { ...this.context, imports: movedImports(this.context.imports, edit) };
    this.log.push(edit);
    this.shapes?.changed.add(def.childForFieldName('name')?.text ?? '');
    if (this.log.length > MAX_LOG) {
      for (const k of this.kept.values()) this.materialize(k);
      this.log = [];
      for (const k of this.kept.values()) k.from = 0;
      // its offsets are no longer related to this version's
      this.shapes = undefined;
    }
    return true;
  }

  /** Offsets of the version at log position `from` (of text the edits since did not change) to this version's. */
  offsetsSince(from: number): (o: number) => number {
    const edits = this.log.slice(from);
    return (o) => edits.reduce(across, o);
  }

  /**
   * The inverse: offsets of this version (in text the edits since `from` did not change) to those of
   * the version at log position `from`.
   */
  offsetsBack(from: number): (o: number) => number {
    const edits = this.log.slice(from).reverse();
    return (o) => edits.reduce((x, e) => (x >= e.oldEnd + e.delta ? x - e.delta : x), o);
  }

  /** The layer with its offsets moved over the edits since it was recorded. */
  private materialize(k: Kept): PythonLayer {
    if (k.from === this.log.length) return k.layer;
    const move = this.offsetsSince(k.from);
    const span = (s: Span): Span => ({ start: move(s.start), end: move(s.end) });
    const l = k.layer;
    k.layer = {
      ...l,
      span: span(l.span),
      calleeSpan: span(l.calleeSpan),
      argsSpan: span(l.argsSpan),
      written: l.written.map((w) => ({ ...w, span: span(w.span) })),
      references: l.references.map((r) => ({ ...r, fieldSpan: span(r.fieldSpan) })),
    };
    k.from = this.log.length;
    return k.layer;
  }
}

/** Import statements after a change move with it (their spans serve the rewrite's `Sequential` import). */
function movedImports(imports: ImportMap, edit: Edit): ImportMap {
  const move = (sp: Span): Span => ({ start: across(sp.start, edit), end: across(sp.end, edit) });
  const moved = new Map<FromImport, FromImport>();
  const statement = (f: FromImport): FromImport => {
    let m = moved.get(f);
    if (!m) moved.set(f, (m = { ...f, span: move(f.span), names: f.names.map((n) => ({ ...n, span: move(n.span) })) }));
    return m;
  };
  return {
    bindings: new Map([...imports.bindings].map(([k, b]) => [k, b.statement ? { ...b, statement: statement(b.statement) } : b])),
    starModules: imports.starModules,
    fromTorchNn: imports.fromTorchNn.map(statement),
  };
}

/** A layer object of its own: analyses after this one set fields and push assumptions on theirs. */
function copy(l: PythonLayer): PythonLayer {
  return { ...l, assumptions: [...l.assumptions], warnings: [...l.warnings] };
}

/**
 * The assignment statement (`x = ...`, `a = b = ...`, `self.x += ...`) that holds offset `at` in its
 * value, inside `top`, with its targets; undefined when the change is in anything else (a target, a
 * condition, a signature) or the statement also binds names inside its value (`:=`).
 */
function assignmentHolding(edited: Node, at: number, top: Node): { statement: Node; targets: Set<string> } | undefined {
  for (let n: Node | null = edited; n && n.id !== top.id; n = parentOf(n)) {
    if (n.type === 'expression_statement') {
      let a = n.namedChildren[0];
      const lefts: Node[] = [];
      while (a && (a.type === 'assignment' || a.type === 'augmented_assignment')) {
        const left = a.childForFieldName('left');
        if (!left) return undefined;
        lefts.push(left);
        a = a.childForFieldName('right');
      }
      if (!lefts.length || at < lefts[lefts.length - 1].endIndex || n.text.includes(':=')) return undefined;
      return { statement: n, targets: targetsOf(lefts) };
    }
    if (n.type.endsWith('_statement') || n.type.endsWith('_definition') || n.type.endsWith('_clause') || n.type === 'block')
      return undefined;
  }
  return undefined;
}

/**
 * The names assignment targets bind, as the evaluator searches them: `a`, `self.conv1`, and for
 * `self.layers[0]` or `a.b.c` every dotted prefix.
 */
function targetsOf(lefts: Node[]): Set<string> {
  const out = new Set<string>();
  for (const left of lefts) {
    for (const m of left.text.matchAll(/[A-Za-z_][\w.]*/g)) {
      const parts = m[0].split('.');
      for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('.'));
    }
  }
  return out;
}

/** The module-level statement holding `node`. */
function topLevelStatement(tree: Tree, node: Node): Node | undefined {
  const root = tree.rootNode;
  return node.id === root.id ? undefined : (root.childWithDescendant(node) ?? undefined);
}
