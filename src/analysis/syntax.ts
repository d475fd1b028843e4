/** Syntax helpers every framework shares: where a tree does not parse, a node's span. */
import type { Node, Tree } from 'web-tree-sitter';
import type { Diagnostic, Span } from './model';

/**
 * The first error or missing node of `tree` in document order, as a message with its line and column;
 * undefined when it parses. An error node that holds another is reported at the inner one (tree-sitter
 * often wraps the whole file in an ERROR whose own start is line 1), and at its first token.
 */
export function firstSyntaxError(tree: Tree): Diagnostic | undefined {
  if (!tree.rootNode.hasError) return undefined;
  const n = firstProblem(tree.rootNode);
  if (!n) return { message: 'syntax error', span: { start: 0, end: 0 } };
  let at = n;
  while (at.childCount > 0 && at.firstChild) at = at.firstChild;
  const what = n.isMissing ? `missing ${n.type}` : 'unexpected text';
  return {
    message: `syntax error at line ${at.startPosition.row + 1}, column ${at.startPosition.column + 1} (${what})`,
    span: { start: at.startIndex, end: Math.max(n.endIndex, at.startIndex + 1) },
  };
}

/** The innermost first error or missing node under `n`, in document order. */
function firstProblem(n: Node): Node | undefined {
  for (const c of n.children) {
    if (!c || !(c.isError || c.isMissing || c.hasError)) continue;
    const inner = c.isMissing ? undefined : firstProblem(c);
    if (inner) return inner;
    if (c.isError || c.isMissing) return c;
  }
  return undefined;
}

/** The offsets a node covers. */
export const nodeSpan = (n: Node): Span => ({ start: n.startIndex, end: n.endIndex });
