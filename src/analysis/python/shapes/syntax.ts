/**
 * The syntax tree the shape interpreter walks, as plain JavaScript objects. A web-tree-sitter
 * `Node` is a handle into WASM memory: every getter (`type`, `namedChildren`, `childForFieldName`,
 * `text`) crosses into WASM and allocates a fresh wrapper, and the interpreter reads the same
 * statements thousands of times (every factory of a zoo file builds the same blocks). A file's tree
 * is copied (lazily: a node's children on first access) into `SyntaxNode`s that answer the subset
 * of the Node API the interpreter uses; the interpreter's code reads them as `Node`s (`asNode`).
 *
 * A copy never changes what it answers, so it can be shared by every analysis of the same text
 * (`program.ts` keeps library files' copies per thread).
 *
 * A copy of a new version of a text starts from the copy of the version before (`copyTree`'s
 * `previous`: a document being typed in): a node whose subtree is the same as one of the old copy
 * (same type and text, at the same place among its siblings, under a parent paired so down from the
 * root) copies its children from that node, moved to its offsets, instead of reading them from
 * WebAssembly; only the nodes on the path of the change are read again. Pairing stops at a syntax
 * error in either version.
 *
 * A library file's copy is read from the parse of its outline (`outline.ts`: function bodies and
 * docstrings left out): its nodes are moved to their offsets in the real text, and a part left out
 * is read, when first asked for, from a parse of that part's range of the real text alone (its
 * nodes at their real offsets), so the copy answers as a copy of the whole text's parse would.
 */
import type { Language, Node, Point, Tree, TreeCursor } from 'web-tree-sitter';
import { lastAtMost } from '../../textDiff';
import { realOffset } from './outline';

/**
 * Stands for the tree a node belongs to (`node.tree === other.tree`: same file). It owns a
 * web-tree-sitter tree until every node of the copy is garbage: nodes are copied lazily, a node's
 * children on first access (the interpreter reads the bodies of the functions it calls, not every
 * function of a 130 KB library module it imports a name from).
 */
export class SyntaxTree {
  rootNode!: SyntaxNode;
  /** where each line starts (a node's position is read from its offset, not asked of WASM) */
  private lines: number[] | undefined;

  constructor(
    readonly text: string,
    /** the web-tree-sitter tree the copy is read from, the copy's own (deleted with it) */
    readonly source: Tree,
    /** one cursor over it: a node's children are read from its descendant index */
    readonly cursor: TreeCursor,
    readonly language: Language,
  ) {}

  /** whether the web-tree-sitter tree has a syntax error (an earlier version's pairs with none of this one's nodes) */
  hasError = false;

  /** For a copy read from an outline's parse (`outline.ts`): the parts it left out (bodies, docstrings), parsed when first read. */
  leftOut: LeftOut | undefined;

  /** The parts an outline left out that have been parsed (for the tests). */
  partsParsed = 0;

  /** The parse of the whole text: the copy's own, or for an outline's copy one made once when asked (the copy keeps it). */
  wholeParse(): Tree {
    return this.leftOut ? (this.whole ??= this.adopt(this.leftOut.whole())).tree : this.source;
  }

  /**
   * The cursor and descendant index to read the children of `node` from, a part the outline left
   * out (a function's body, a docstring): the part parsed on its own from the real text (a body
   * with its definition), or, should that parse not be what the outline found, the whole text's.
   */
  leftOutPart(node: SyntaxNode): [TreeCursor, number] {
    const left = this.leftOut!;
    const body = node.type === 'block';
    const start = body ? node.parent!.startIndex : node.startIndex;
    const end = (body ? left.ends : left.strings).get(start)!;
    const find = (cursor: TreeCursor, end: number) =>
      body ? findBody(cursor, start, end) : findNode(cursor, 'string', start) && (end < 0 || cursor.endIndex === end);
    const tree = left.parse(start, end, this.positionOf(start), this.positionOf(end));
    this.partsParsed++;
    const cursor = tree.walk();
    if (!tree.rootNode.hasError && find(cursor, end)) {
      owned.register(this, { tree, cursor });
      return [cursor, cursor.currentDescendantIndex];
    }
    cursor.delete();
    tree.delete();
    this.wholeParse();
    const whole = this.whole!;
    whole.cursor.gotoDescendant(0);
    find(whole.cursor, -1);
    return [whole.cursor, whole.cursor.currentDescendantIndex];
  }

  private whole: { tree: Tree; cursor: TreeCursor } | undefined;

  private adopt(tree: Tree): { tree: Tree; cursor: TreeCursor } {
    const held = { tree, cursor: tree.walk() };
    owned.register(this, held);
    return held;
  }

  /** Nodes whose children were copied from an earlier version's instead of read from WebAssembly (for the tests). */
  carried = 0;

  /** The row and column of `offset` (columns count UTF-16 code units, as web-tree-sitter's over a JavaScript string). */
  positionOf(offset: number): Point {
    const lines = (this.lines ??= lineStarts(this.text));
    const row = lastAtMost(lines, offset);
    return { row, column: offset - lines[row] };
  }
}

/** Moves `cursor` (at a root) down to the node of `type` that starts at `start`; whether it is there. */
function findNode(cursor: TreeCursor, type: string, start: number): boolean {
  for (;;) {
    if (cursor.nodeType === type && cursor.startIndex === start) return true;
    // down to the child that holds `start` (web-tree-sitter's gotoFirstChildForIndex moves, but
    // does not say whether it did)
    if (!cursor.gotoFirstChild()) return false;
    while (cursor.endIndex <= start) if (!cursor.gotoNextSibling()) return false;
    if (cursor.startIndex > start) return false;
  }
}

/**
 * Moves `cursor` (at a root) down to the body of the function definition that starts at `start`;
 * whether it is there and the definition ends at `end` (any end for -1).
 */
function findBody(cursor: TreeCursor, start: number, end: number): boolean {
  if (!findNode(cursor, 'function_definition', start) || (end >= 0 && cursor.endIndex !== end) || !cursor.gotoFirstChild()) return false;
  while (cursor.currentFieldName !== 'body') if (!cursor.gotoNextSibling()) return false;
  return true;
}

/** What an outline's copy needs to read the parts the outline left out (`outline.ts`). */
export interface LeftOut {
  /** per function left out, by where its definition starts: where it really ends */
  ends: Map<number, number>;
  /** per docstring left out, by where it starts: where it ends */
  strings: Map<number, number>;
  /** the outline's offsets after each placeholder, from which the real text is `shift` further on */
  at: number[];
  shift: number[];
  /** a parse of the real text between two offsets only */
  parse(start: number, end: number, startPosition: Point, endPosition: Point): Tree;
  /** a parse of the whole real text */
  whole(): Tree;
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

/** Whether a grammar's node type is named, per grammar and type id (a call into WASM the first time). */
const namedTypes = new WeakMap<Language, boolean[]>();
function isNamedType(language: Language, typeId: number): boolean {
  let known = namedTypes.get(language);
  if (!known) namedTypes.set(language, (known = []));
  return (known[typeId] ??= language.nodeTypeIsNamed(typeId));
}

/** Deletes the web-tree-sitter trees (and their cursors) behind a copy once no node of the copy is reachable. */
const owned = new FinalizationRegistry<{ tree: Tree; cursor: TreeCursor }>(({ tree, cursor }) => {
  cursor.delete();
  tree.delete();
});

const LEFT_OUT = Symbol('left out');

let nextId = 1;

export class SyntaxNode {
  readonly id = nextId++;
  parent: SyntaxNode | null = null;
  private kids: SyntaxNode[] | undefined;
  /** the field name of each child, or null */
  private fieldNames: (string | null)[] | undefined;
  private named?: SyntaxNode[];
  private cachedText?: string;
  private position?: Point;
  private descendants?: Map<string, SyntaxNode[]>;
  /**
   * A node of an earlier version's copy with the same subtree, whose children have been read: this
   * node's are copied from them, moved to its offsets (dropped once they are).
   */
  private same?: SyntaxNode;
  /**
   * The node of the version before at this node's place that holds the change too (its subtree is
   * not the same): this node's children are paired with its (dropped once they are).
   */
  private peer?: SyntaxNode;

  constructor(
    readonly tree: SyntaxTree,
    readonly type: string,
    readonly isNamed: boolean,
    readonly isMissing: boolean,
    readonly startIndex: number,
    readonly endIndex: number,
    /** its index among the web-tree-sitter tree's nodes in document order (`TreeCursor.gotoDescendant`) */
    private descendant: number,
  ) {}

  /**
   * Where its children are read from when not the tree's cursor: a part parsed on its own, or
   * `LEFT_OUT` for a part an outline left out (a body, a docstring), until it is.
   */
  private from?: TreeCursor | typeof LEFT_OUT;

  get startPosition(): Point {
    return (this.position ??= this.tree.positionOf(this.startIndex));
  }

  get children(): SyntaxNode[] {
    if (!this.kids) this.expand();
    return this.kids!;
  }

  private get fields(): (string | null)[] {
    if (!this.fieldNames) this.expand();
    return this.fieldNames!;
  }

  /**
   * Copies the children with the tree's cursor, moved to this node by its descendant index; no
   * web-tree-sitter node is made. Each getter is a call into WASM: per child, its type id (whether
   * the type is named is the grammar's, asked once per type), start, end, field, descendant index
   * and the step to the next; only a child of no width (what a syntax error leaves) is asked whether
   * it is missing. Positions are read from the text when asked for.
   */
  private expand(): void {
    const same = this.same;
    if (same) {
      this.same = undefined;
      this.copyFrom(same);
      return;
    }
    const kids: SyntaxNode[] = [];
    const fields: (string | null)[] = [];
    const { language } = this.tree;
    if (this.from === LEFT_OUT) [this.from, this.descendant] = this.tree.leftOutPart(this);
    const cursor = this.from ?? this.tree.cursor;
    // an outline's nodes are moved to their offsets in the real text
    const left = this.from ? undefined : this.tree.leftOut;
    cursor.gotoDescendant(this.descendant);
    if (cursor.gotoFirstChild()) {
      do {
        const typeId = cursor.nodeTypeId;
        let startIndex = cursor.startIndex;
        let endIndex = cursor.endIndex;
        if (left) {
          startIndex = realOffset(left, startIndex);
          endIndex = realOffset(left, endIndex);
        }
        const type = language.types[typeId] || 'ERROR';
        const c = new SyntaxNode(
          this.tree,
          type,
          isNamedType(language, typeId),
          endIndex === startIndex && cursor.nodeIsMissing,
          startIndex,
          endIndex,
          cursor.currentDescendantIndex,
        );
        c.parent = this;
        if (this.from) c.from = this.from;
        else if (
          left &&
          ((type === 'block' && this.type === 'function_definition' && left.ends.has(this.startIndex)) ||
            (type === 'string' && left.strings.has(startIndex)))
        )
          c.from = LEFT_OUT;
        kids.push(c);
        fields.push(language.fields[cursor.currentFieldId] ?? null);
      } while (cursor.gotoNextSibling());
    }
    this.kids = kids;
    this.fieldNames = fields;
    const peer = this.peer;
    if (peer) {
      this.peer = undefined;
      if (peer.kids) SyntaxNode.pair(kids, peer.kids);
    }
  }

  /** The children of `same` (a node with the same subtree), moved to this node's offsets and descendant indexes. */
  private copyFrom(same: SyntaxNode): void {
    const shift = this.startIndex - same.startIndex;
    const step = this.descendant - same.descendant;
    const kids = same.children.map((k) => {
      const c = new SyntaxNode(this.tree, k.type, k.isNamed, k.isMissing, k.startIndex + shift, k.endIndex + shift, k.descendant + step);
      c.parent = this;
      c.same = k.read;
      return c;
    });
    this.kids = kids;
    this.fieldNames = same.fields;
    this.tree.carried++;
  }

  /** The root of a new version's copy: its children are paired with those of `before`, the root of the version before. */
  pairWith(before: SyntaxNode): void {
    this.peer = before;
  }

  /** This node if its children have been read, else the node it will copy them from (if any). */
  private get read(): SyntaxNode | undefined {
    return this.kids ? this : this.same;
  }

  /**
   * Pairs the children of a node of a new version (`now`) with those of its peer (`before`): the
   * same subtree from either end (a common prefix and suffix, node for node, of the same type and
   * text) is copied from the old node; between them, nodes of the same type at the same place hold
   * the change and are peers.
   */
  private static pair(now: SyntaxNode[], before: SyntaxNode[]): void {
    const equal = (a: SyntaxNode, b: SyntaxNode) =>
      a.type === b.type &&
      a.isNamed === b.isNamed &&
      a.isMissing === b.isMissing &&
      a.endIndex - a.startIndex === b.endIndex - b.startIndex &&
      a.tree.text.slice(a.startIndex, a.endIndex) === b.tree.text.slice(b.startIndex, b.endIndex);
    let i = 0;
    for (; i < now.length && i < before.length && equal(now[i], before[i]); i++) now[i].same = before[i].read;
    let j = 0;
    for (; j < now.length - i && j < before.length - i && equal(now[now.length - 1 - j], before[before.length - 1 - j]); j++) {
      now[now.length - 1 - j].same = before[before.length - 1 - j].read;
    }
    if (now.length !== before.length) return;
    for (let k = i; k < now.length - j; k++) if (now[k].type === before[k].type && before[k].kids) now[k].peer = before[k];
  }

  get text(): string {
    return (this.cachedText ??= this.tree.text.slice(this.startIndex, this.endIndex));
  }

  get namedChildren(): SyntaxNode[] {
    return (this.named ??= this.children.filter((c) => c.isNamed));
  }

  get childCount(): number {
    return this.children.length;
  }

  get namedChildCount(): number {
    return this.namedChildren.length;
  }

  child(i: number): SyntaxNode | null {
    return this.children[i] ?? null;
  }

  namedChild(i: number): SyntaxNode | null {
    return this.namedChildren[i] ?? null;
  }

  get firstChild(): SyntaxNode | null {
    return this.children[0] ?? null;
  }

  get lastChild(): SyntaxNode | null {
    return this.children[this.children.length - 1] ?? null;
  }

  get firstNamedChild(): SyntaxNode | null {
    return this.namedChildren[0] ?? null;
  }

  get lastNamedChild(): SyntaxNode | null {
    const n = this.namedChildren;
    return n[n.length - 1] ?? null;
  }

  private siblingAt(step: number, namedOnly: boolean): SyntaxNode | null {
    const p = this.parent;
    if (!p) return null;
    const list = namedOnly ? p.namedChildren : p.children;
    return list[list.indexOf(this) + step] ?? null;
  }

  get nextSibling(): SyntaxNode | null {
    return this.siblingAt(1, false);
  }

  get previousSibling(): SyntaxNode | null {
    return this.siblingAt(-1, false);
  }

  get nextNamedSibling(): SyntaxNode | null {
    return this.siblingAt(1, true);
  }

  get previousNamedSibling(): SyntaxNode | null {
    return this.siblingAt(-1, true);
  }

  childForFieldName(name: string): SyntaxNode | null {
    const i = this.fields.indexOf(name);
    return i < 0 ? null : this.children[i];
  }

  childrenForFieldName(name: string): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let i = 0; i < this.fields.length; i++) if (this.fields[i] === name) out.push(this.children[i]);
    return out;
  }

  /** The node and its descendants of one of `types`, in document order (as web-tree-sitter's: the node itself included); kept per type (callers only read it). */
  descendantsOfType(types: string | string[]): SyntaxNode[] {
    const key = typeof types === 'string' ? types : types.join('\u0000');
    const known = this.descendants?.get(key);
    if (known) return known;
    const want = typeof types === 'string' ? [types] : types;
    const out: SyntaxNode[] = [];
    const visit = (n: SyntaxNode) => {
      if (want.includes(n.type)) out.push(n);
      for (const c of n.children) visit(c);
    };
    visit(this);
    (this.descendants ??= new Map()).set(key, out);
    return out;
  }

  get hasError(): boolean {
    return this.type === 'ERROR' || this.isMissing || this.children.some((c) => c.hasError);
  }

  equals(other: SyntaxNode): boolean {
    return this === other;
  }
}

/**
 * A lazy copy of `tree` over `text` (the text it was parsed from). The copy owns `tree` (it is
 * deleted once the copy is garbage): a caller that keeps its tree passes `tree.copy()`. With
 * `previous`, the copy of an earlier version of the text, the subtrees a change left as they were
 * are copied from it (see the file comment); neither copy changes what it answers.
 */
export function copyTree(tree: Tree, text: string, previous?: SyntaxTree, leftOut?: LeftOut): SyntaxTree {
  const r = tree.rootNode;
  const cursor = r.walk();
  const out = new SyntaxTree(text, tree, cursor, tree.language);
  out.leftOut = leftOut;
  const end = leftOut ? realOffset(leftOut, r.endIndex) : r.endIndex;
  out.rootNode = new SyntaxNode(out, r.type, r.isNamed, r.isMissing, r.startIndex, end, 0);
  if (previous && !r.hasError && !previous.hasError) out.rootNode.pairWith(previous.rootNode);
  out.hasError = r.hasError;
  owned.register(out, { tree, cursor });
  return out;
}

/** A plain node where the interpreter's code expects a web-tree-sitter one. */
export const asNode = (n: SyntaxNode): Node => n as unknown as Node;
