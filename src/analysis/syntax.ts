/** Syntax helpers every framework shares: where a tree does not parse, a node's span. */
import type { Node, Tree } from 'web-tree-sitter';
import type { Diagnostic, Span } from './model';

/** The first error or missing node of `tree` in document order, as a message with its line and column; undefined when it parses. */
export function firstSyntaxError(tree: Tree): Diagnostic | undefined {
  if (!tree.rootNode.hasError) return undefined;
  const stack: Node[] = [tree.rootNode];
  while (stack.length) {
    const n = stack.shift()!;
    if (n.isError || n.isMissing) {
      const what = n.isMissing ? `missing ${n.type}` : 'unexpected text';
      return {
        message: `syntax error at line ${n.startPosition.row + 1}, column ${n.startPosition.column + 1} (${what})`,
        span: { start: n.startIndex, end: Math.max(n.endIndex, n.startIndex + 1) },
      };
    }
    if (n.hasError) stack.unshift(...n.children.filter((c): c is Node => c !== null));
  }
  return { message: 'syntax error', span: { start: 0, end: 0 } };
}

/** The offsets a node covers. */
export const nodeSpan = (n: Node): Span => ({ start: n.startIndex, end: n.endIndex });
