/** Small helpers on tree-sitter nodes the interpreter and model discovery share. */
import type { Node } from 'web-tree-sitter';

export function named(node: Node | null | undefined): Node[] {
  return node ? (node.namedChildren.filter((n) => n !== null && n.type !== 'comment') as Node[]) : [];
}

/** A short quote of the code at `node` for messages. */
export function snippet(node: Node): string {
  const first = node.text.split('\n')[0].trim();
  const more = node.text.includes('\n') || first.length > 60;
  return `\`${first.length > 60 ? first.slice(0, 57) : first}${more ? '…' : ''}\``;
}

/** `if __name__ == "__main__":` */
export function isMainGuard(stmt: Node): boolean {
  if (stmt.type !== 'if_statement') return false;
  const cond = stmt.childForFieldName('condition')?.text.replace(/\s+/g, '') ?? '';
  return /^__name__==["']__main__["']$|^["']__main__["']==__name__$/.test(cond);
}

/** What may hold statements: blocks, the clauses of compound statements, and those statements. */
const HOLDS_STATEMENTS = new Set([
  'block',
  'if_statement',
  'elif_clause',
  'else_clause',
  'for_statement',
  'while_statement',
  'try_statement',
  'except_clause',
  'except_group_clause',
  'finally_clause',
  'with_statement',
  'match_statement',
  'case_clause',
  'function_definition',
  'class_definition',
  'decorated_definition',
]);

/**
 * The `return` statements in `node` (a function's definition, nested definitions' too), in
 * document order, as `descendantsOfType('return_statement')` finds them, reading only statements
 * (expressions, docstrings and the returned values' own nodes are not walked).
 */
export function returnStatements(node: Node): Node[] {
  const out: Node[] = [];
  const visit = (n: Node) => {
    for (const c of n.children) {
      if (!c) continue;
      if (c.type === 'return_statement') out.push(c);
      else if (HOLDS_STATEMENTS.has(c.type)) visit(c);
    }
  };
  if (node.type === 'return_statement') out.push(node);
  else visit(node);
  return out;
}
