/**
 * How a TensorFlow.js layer call is written, read once when the analysis finds the call: its config
 * object (entries, comments, commas, key quotes, indentation), where it stands (a layers array, a
 * `model.add(...)` statement, an `.apply(...)` chain) and the file's quote. The analysis judges with
 * it whether two layers can stand in the call's place; the rewrite (`tfjs.ts`) writes with it.
 */
import type { Node } from 'web-tree-sitter';
import type { Span } from '../analysis/model';
import { nodeSpan as span } from '../analysis/syntax';

function named(n: Node | null | undefined): Node[] {
  return n ? n.namedChildren.filter((c): c is Node => c !== null) : [];
}

export interface ConfigEntry {
  kind: 'pair' | 'shorthand' | 'spread' | 'method';
  /** the key as a name (`kernelSize`, also for `'kernelSize'`) */
  key: string | undefined;
  keySpan: Span | undefined;
  value: { text: string; span: Span } | undefined;
  /** the entry itself */
  node: Span;
  /** the entry with the comments on the lines above it and a comment after it on its line */
  span: Span;
  text: string;
  /** a comma follows the entry */
  commaAfter: boolean;
  /** where the entry's line ends (after its comma and comment), when nothing else follows it there */
  lineEnd: number | undefined;
}

export type ConfigSite =
  | {
      kind: 'literal';
      span: Span;
      multiline: boolean;
      entries: ConfigEntry[];
      /** the quote keys are written with (`'kernelSize': 3`), if they are quoted */
      keyQuote: string | undefined;
      /** a comma follows the last entry */
      trailingComma: boolean;
      /** indentation of the entries (multi-line objects) */
      entryIndent: string;
    }
  | { kind: 'expression'; span: Span; text: string }
  | { kind: 'none' };

export type Placement =
  | { kind: 'array'; multiline: boolean; indent: string }
  | { kind: 'add'; statement: Span; receiver: string; semicolon: boolean; indent: string }
  | {
      kind: 'apply';
      call: Span;
      argsText: string;
      /**
       * `x = conv.apply(x) as T;` or `let y = conv.apply(x);`: a statement that can become two, the
       * second reassigning `target`; `value` is the right-hand side around the apply call
       */
      statement?: { span: Span; value: Span; target: string; semicolon: boolean; indent: string };
    }
  | { kind: 'other' };

function indentOf(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(start))![0];
}

/** The offset where the line of `offset` starts, if only white space stands before it on that line. */
function lineStartIfFirst(text: string, offset: number): number | undefined {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*$/.test(text.slice(start, offset)) ? start : undefined;
}

/** The string quote the file uses most. */
export function majorityQuote(text: string): string {
  const single = (text.match(/'/g) ?? []).length;
  const double = (text.match(/"/g) ?? []).length;
  return double > single ? '"' : "'";
}

/** The call's config argument as written. */
export function configSite(arg: Node | undefined, text: string): ConfigSite {
  if (!arg) return { kind: 'none' };
  if (arg.type !== 'object') return { kind: 'expression', span: span(arg), text: arg.text };
  const children = arg.children.filter((c): c is Node => c !== null);
  const entries: ConfigEntry[] = [];
  let pendingComments: Node[] = [];
  let keyQuote: string | undefined;
  let trailingComma = false;
  for (const c of children) {
    if (c.type === '{' || c.type === '}') continue;
    if (c.type === ',') {
      trailingComma = true;
      const prev = entries[entries.length - 1];
      if (prev) prev.commaAfter = true;
      continue;
    }
    if (c.type === 'comment') {
      const prev = entries[entries.length - 1];
      // a comment on the line of the previous entry belongs to it
      if (prev && pendingComments.length === 0 && text.slice(prev.span.end, c.startIndex).indexOf('\n') < 0) {
        prev.span = { start: prev.span.start, end: c.endIndex };
        prev.text = text.slice(prev.span.start, prev.span.end);
      } else pendingComments.push(c);
      continue;
    }
    trailingComma = false;
    const start = pendingComments[0]?.startIndex ?? c.startIndex;
    pendingComments = [];
    const entry: ConfigEntry = {
      kind: 'pair',
      key: undefined,
      keySpan: undefined,
      value: undefined,
      node: span(c),
      span: { start, end: c.endIndex },
      text: '',
      commaAfter: false,
      lineEnd: undefined,
    };
    if (c.type === 'pair') {
      const key = c.childForFieldName('key')!;
      const value = c.childForFieldName('value')!;
      if (key.type === 'string') {
        keyQuote = key.text[0];
        entry.key = key.text.slice(1, -1);
      } else if (key.type === 'property_identifier' || key.type === 'number') entry.key = key.text;
      entry.keySpan = span(key);
      entry.value = { text: value.text, span: span(value) };
    } else if (c.type === 'shorthand_property_identifier') {
      entry.kind = 'shorthand';
      entry.key = c.text;
      entry.keySpan = span(c);
      entry.value = { text: c.text, span: span(c) };
    } else if (c.type === 'spread_element') {
      entry.kind = 'spread';
      entry.value = { text: named(c)[0]?.text ?? '', span: span(c) };
    } else entry.kind = 'method';
    entry.text = text.slice(entry.span.start, entry.span.end);
    entries.push(entry);
  }
  const multiline = arg.startPosition.row !== arg.endPosition.row;
  for (const e of entries) {
    const eol = text.indexOf('\n', e.node.end);
    const rest = text.slice(e.node.end, eol < 0 ? text.length : eol);
    if (/^\s*,?\s*(\/\/.*|\/\*.*\*\/\s*)?$/.test(rest)) e.lineEnd = e.node.end + rest.trimEnd().length;
  }
  const first = entries[0];
  const entryIndent = first && multiline ? indentOf(text, first.span.start) : '';
  return { kind: 'literal', span: span(arg), multiline, entries, keyQuote, trailingComma, entryIndent };
}

/** Where the call stands, and what a second layer next to it needs. */
export function placementOf(call: Node, text: string): Placement {
  const parent = call.parent;
  if (!parent) return { kind: 'other' };
  if (parent.type === 'array') {
    const first = lineStartIfFirst(text, call.startIndex);
    return {
      kind: 'array',
      multiline: first !== undefined && parent.startPosition.row !== parent.endPosition.row,
      indent: indentOf(text, call.startIndex),
    };
  }
  if (parent.type === 'arguments' && named(parent).length === 1) {
    const add = parent.parent;
    const fn = add?.childForFieldName('function');
    if (
      add?.type === 'call_expression' &&
      fn?.type === 'member_expression' &&
      fn.childForFieldName('property')?.text === 'add' &&
      add.parent?.type === 'expression_statement'
    ) {
      const stmt = add.parent;
      return {
        kind: 'add',
        statement: span(stmt),
        receiver: fn.childForFieldName('object')!.text,
        semicolon: stmt.text.trimEnd().endsWith(';'),
        indent: indentOf(text, stmt.startIndex),
      };
    }
  }
  if (
    parent.type === 'member_expression' &&
    parent.childForFieldName('object')?.id === call.id &&
    parent.childForFieldName('property')?.text === 'apply'
  ) {
    const applyCall = parent.parent;
    if (applyCall?.type === 'call_expression' && applyCall.childForFieldName('function')?.id === parent.id) {
      const args = applyCall.childForFieldName('arguments')!;
      let value: Node = applyCall;
      while (
        value.parent &&
        ['as_expression', 'parenthesized_expression', 'non_null_expression', 'satisfies_expression'].includes(value.parent.type)
      )
        value = value.parent;
      const holder = value.parent;
      let statement: (Placement & { kind: 'apply' })['statement'];
      const info = (stmt: Node, target: string) => ({
        span: span(stmt),
        value: span(value),
        target,
        semicolon: stmt.text.trimEnd().endsWith(';'),
        indent: indentOf(text, stmt.startIndex),
      });
      if (
        holder?.type === 'assignment_expression' &&
        holder.childForFieldName('left')?.type === 'identifier' &&
        holder.parent?.type === 'expression_statement'
      ) {
        statement = info(holder.parent, holder.childForFieldName('left')!.text);
      } else if (holder?.type === 'variable_declarator' && holder.childForFieldName('name')?.type === 'identifier') {
        const decl = holder.parent;
        const kind =
          decl?.type === 'variable_declaration' ? 'var' : decl?.children.find((c) => c?.type === 'let' || c?.type === 'const')?.type;
        if (
          decl &&
          kind !== 'const' &&
          named(decl).filter((c) => c.type === 'variable_declarator').length === 1 &&
          decl.parent?.type !== 'for_statement'
        ) {
          statement = info(decl, holder.childForFieldName('name')!.text);
        }
      }
      return { kind: 'apply', call: span(applyCall), argsText: text.slice(args.startIndex + 1, args.endIndex - 1), statement };
    }
  }
  return { kind: 'other' };
}
