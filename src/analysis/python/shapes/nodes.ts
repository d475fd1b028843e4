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
