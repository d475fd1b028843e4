/**
 * Which of a file's candidate models may build a given conv call site, read from the text alone:
 * the top-level definitions that mention, directly or through other top-level definitions, the one
 * that holds the call (`conv3x3` ← `BasicBlock` ← `_resnet` ← `resnet18`). A hover's run builds
 * these one by one, in the order the full run would pick its model, and runs only the first that
 * builds the call site (`InferRequest.reach` in models.ts); the rest of the file's models wait for
 * the full run. Words are matched in the definitions' text (strings and comments too): that can
 * only add candidates, never lose one; the order reads only the code's names (a docstring that
 * names another factory does not make it a part).
 */
import type { Node } from 'web-tree-sitter';

/** A candidate model: a class or a factory of the file, by its top-level definition. */
export interface Definition<T> {
  name: string;
  node: Node;
  value: T;
}

interface Item {
  /** names the statement binds at the top level */
  names: string[];
  start: number;
  end: number;
  /** every word of its text, and those outside strings and comments (names the code uses) */
  words: Set<string>;
  code: Set<string>;
  /** top-level script code (not a definition nor an import) that may make an example tensor and run a model on it */
  example: boolean;
}

const WORD = /[A-Za-z_]\w*/g;
/** How an example tensor is made (`torch.randn(...)` and the like, models.ts discovery), or the `__main__` block that may make one. */
const EXAMPLE = /__main__|\b(?:randn|rand|zeros|ones|empty|randint|full)\s*\(/;
const STRING_OR_COMMENT = /[rbfuRBFU]*("""[^]*?"""|'''[^]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|#[^\n]*/g;

/** The file's top-level definitions and assignments, with the words each one's text uses. */
function topLevel(root: Node): Item[] {
  const out: Item[] = [];
  for (const stmt of root.namedChildren) {
    if (!stmt) continue;
    const def = stmt.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
    let names: string[] = [];
    const isDef = !!def && (def.type === 'class_definition' || def.type === 'function_definition');
    if (def && isDef) {
      const name = def.childForFieldName('name')?.text;
      if (name) names = [name];
    } else if (stmt.type === 'expression_statement' && stmt.firstNamedChild?.type === 'assignment') {
      names = stmt.firstNamedChild.childForFieldName('left')?.text.match(WORD) ?? [];
    }
    const key = `${stmt.type}\n${stmt.text}`;
    let read = readings.get(key);
    if (!read) {
      if (readings.size >= MAX_READINGS) readings.clear();
      // a statement's text is a slice of its file's, and so are its longer words: kept, they would
      // keep that version of the file alive (one per keystroke); a copy of its own holds only itself
      const text = Buffer.from(stmt.text, 'utf16le').toString('utf16le');
      read = {
        words: new Set(text.match(WORD) ?? []),
        code: new Set(text.replace(STRING_OR_COMMENT, ' ').match(WORD) ?? []),
        example: !isDef && !stmt.type.startsWith('import') && !stmt.type.startsWith('future') && EXAMPLE.test(text),
      };
      readings.set(`${stmt.type}\n${text}`, read);
    }
    out.push({ names, start: stmt.startIndex, end: stmt.endIndex, ...read });
  }
  return out;
}

/**
 * The words of a top-level statement by its text, kept per thread (each from a copy of the
 * statement's text, not a slice of its file's): a hover after each keystroke reads the same
 * statements again, all but the edited one.
 */
const readings = new Map<string, Pick<Item, 'words' | 'code' | 'example'>>();
const MAX_READINGS = 2048;

/** What of a file may build given conv call sites (its own, or another file's through `names`), read from its text alone. */
export class Reach {
  private readonly items: Item[];
  private readonly inClosure: Set<Item>;

  constructor(root: Node, targets: number[] | { names: string[] }) {
    this.items = topLevel(root);
    this.inClosure = closure(this.items, targets);
  }

  /** Whether the top-level definition holding `node` may build a call site. */
  has(node: Node): boolean {
    const it = this.itemOf(node);
    return !!it && this.inClosure.has(it);
  }

  /**
   * Nothing of the file can build a call site: no definition may reach one, and no script code (a
   * `__main__` block, top-level statements making a tensor) may run an example that builds one.
   */
  get none(): boolean {
    return this.inClosure.size === 0 && !this.items.some((it) => it.example);
  }

  /**
   * The candidates among `defs` whose build may reach a call site, in the order to try them: file
   * order (the full run attaches a call site to the first model in file order that builds it),
   * except that a class another candidate class mentions (a block that is likely a part of it) and
   * a factory another candidate mentions go after the others.
   */
  order<T>(defs: Definition<T>[]): Definition<T>[] {
    const reached = defs
      .map((d) => ({ d, it: this.itemOf(d.node) }))
      .filter((x): x is { d: Definition<T>; it: Item } => !!x.it && this.inClosure.has(x.it))
      .sort((a, b) => a.it.start - b.it.start);
    const isClass = (d: Definition<T>) => d.node.type === 'class_definition';
    const later = (x: { d: Definition<T> }) =>
      reached.some((o) => o.d !== x.d && (isClass(x.d) ? isClass(o.d) : true) && o.it.code.has(x.d.name));
    return [...reached.filter((x) => !later(x)), ...reached.filter(later)].map((x) => x.d);
  }

  private itemOf(node: Node): Item | undefined {
    return this.items.find((it) => node.startIndex >= it.start && node.startIndex < it.end);
  }
}

/** `Reach.order` of `defs` for `targets` (offsets of conv calls in the file, or another file's through `names`). */
export function reachOrder<T>(root: Node, targets: number[] | { names: string[] }, defs: Definition<T>[]): Definition<T>[] {
  return new Reach(root, targets).order(defs);
}

/**
 * The names of `root`'s top-level definitions that may build one of `targets` (offsets of conv
 * calls): a file that imports this one reaches them through these (`reachOrder` with `names`).
 */
export function reachingNames(root: Node, targets: number[]): string[] {
  return [...closure(topLevel(root), targets)].flatMap((it) => it.names);
}

/**
 * The items holding a target, or (`names`: the targets are another file's) that mention one of
 * those names, and the items that mention theirs, and so on.
 */
function closure(items: Item[], targets: number[] | { names: string[] }): Set<Item> {
  const inClosure = new Set<Item>(Array.isArray(targets) ? items.filter((it) => targets.some((t) => t >= it.start && t < it.end)) : []);
  const names = new Set(Array.isArray(targets) ? [...inClosure].flatMap((it) => it.names) : targets.names);
  for (let grew = true; grew; ) {
    grew = false;
    for (const it of items) {
      if (inClosure.has(it) || ![...names].some((n) => it.words.has(n))) continue;
      inClosure.add(it);
      for (const n of it.names) names.add(n);
      grew = true;
    }
  }
  return inClosure;
}
