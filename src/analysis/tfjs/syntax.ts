/** What the TensorFlow.js interpreter reads off JavaScript/TypeScript syntax: function-like nodes, names a block assigns or a pattern declares, string literals. */
import type { Node } from 'web-tree-sitter';

/** Function-like node types of the JavaScript and TypeScript grammars. */
export const FUNCTION_TYPES = new Set([
  'function_declaration',
  'function_expression',
  'function',
  'arrow_function',
  'method_definition',
  'generator_function_declaration',
  'generator_function',
]);

export const TRANSPARENT = new Set([
  'parenthesized_expression',
  'as_expression',
  'satisfies_expression',
  'non_null_expression',
  'type_assertion',
  'await_expression',
]);

export function named(n: Node | null | undefined): Node[] {
  return n ? (n.namedChildren.filter((c) => c !== null && c.type !== 'comment') as Node[]) : [];
}

export const line = (n: Node) => n.startPosition.row + 1;

export const short = (n: Node) => {
  const t = n.text.replace(/\s+/g, ' ');
  return t.length > 40 ? t.slice(0, 40) + '…' : t;
};

/** Identifiers a block assigns (not declares), for havoc in loops and merging after branches. */
export function assignedNames(root: Node): Set<string> {
  const out = new Set<string>();
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n !== root && FUNCTION_TYPES.has(n.type)) continue;
    if (n.type === 'assignment_expression' || n.type === 'augmented_assignment_expression') {
      const left = n.childForFieldName('left');
      if (left?.type === 'identifier') out.add(left.text);
      if (left?.type === 'array_pattern' || left?.type === 'object_pattern')
        for (const id of left.descendantsOfType('identifier')) if (id) out.add(id.text);
    }
    if (n.type === 'update_expression') {
      const a = n.childForFieldName('argument');
      if (a?.type === 'identifier') out.add(a.text);
    }
    for (const c of named(n)) stack.push(c);
  }
  return out;
}

// ---------------------------------------------------------------- helpers

export function isParameterProperty(p: Node): boolean {
  return (
    (p.type === 'required_parameter' || p.type === 'optional_parameter') &&
    p.children.some((c) => c?.type === 'accessibility_modifier' || c?.type === 'readonly' || c?.type === 'override_modifier')
  );
}

export function fnName(fn: Node): string {
  const n = fn.childForFieldName('name');
  if (n) return n.text;
  const p = fn.parent;
  if (p?.type === 'variable_declarator') return p.childForFieldName('name')?.text ?? 'function';
  if (p?.type === 'pair') return p.childForFieldName('key')?.text ?? 'function';
  if (p?.type === 'assignment_expression') return p.childForFieldName('left')?.text ?? 'function';
  return 'the function';
}

/** Globals whose use cannot reach TensorFlow.js or the file's own state. */
export const PURE_GLOBALS = new Set([
  'Math',
  'JSON',
  'Object',
  'Array',
  'Number',
  'String',
  'Boolean',
  'Date',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'Symbol',
  'Error',
  'TypeError',
  'RangeError',
  'Promise',
  'RegExp',
  'parseInt',
  'parseFloat',
  'isNaN',
  'isFinite',
  'undefined',
  'NaN',
  'Infinity',
  'console',
]);

/** Where a pattern passes a name on to the node above it: the field of the parent that holds it. */
export const PATTERN_FIELDS: Record<string, string | undefined> = {
  array_pattern: undefined, // every element
  object_pattern: undefined,
  rest_pattern: undefined,
  pair_pattern: 'value',
  assignment_pattern: 'left',
  required_parameter: 'pattern',
  optional_parameter: 'pattern',
};

/** Declaring nodes and the field that holds the declared name or pattern (undefined: any child). */
export const DECLARING_FIELDS: Record<string, string | undefined> = {
  variable_declarator: 'name',
  formal_parameters: undefined,
  catch_clause: 'parameter',
  arrow_function: 'parameter',
  function_declaration: 'name',
  function_expression: 'name',
  function: 'name',
  generator_function_declaration: 'name',
  generator_function: 'name',
  class_declaration: 'name',
  class: 'name',
};

/** Whether identifier `id` is a name being declared (a variable, parameter, function or class name). */
export function declares(id: Node): boolean {
  let n = id;
  for (let p = n.parent; p; n = p, p = p.parent) {
    if (p.type in PATTERN_FIELDS) {
      const field = PATTERN_FIELDS[p.type];
      if (field !== undefined && p.childForFieldName(field)?.id !== n.id) return false;
      continue;
    }
    if (p.type === 'for_in_statement') return p.childForFieldName('left')?.id === n.id && p.childForFieldName('kind') !== null;
    if (!(p.type in DECLARING_FIELDS)) return false;
    const field = DECLARING_FIELDS[p.type];
    return field === undefined || p.childForFieldName(field)?.id === n.id;
  }
  return false;
}

export function enclosingClass(n: Node): Node | undefined {
  for (let c = n.parent; c; c = c.parent) if (c.type === 'class_declaration' || c.type === 'class') return c;
  return undefined;
}

export function unescape(s: string): string {
  const m: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0' };
  return s.length === 2 ? (m[s[1]] ?? s[1]) : s;
}

export function stringValue(node: Node): string {
  return named(node)
    .map((c) => (c.type === 'escape_sequence' ? unescape(c.text) : c.text))
    .join('');
}
