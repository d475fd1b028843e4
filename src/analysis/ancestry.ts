/**
 * Parents of tree-sitter nodes, cached per tree. web-tree-sitter's `node.parent` walks down from the
 * root every time (O(depth x siblings)); in a 5,000-line module that made every scope lookup cost a
 * scan of all top-level statements. Here each walk down records the parent of every node it passes.
 */
import type { Node, Tree } from 'web-tree-sitter';

const caches = new WeakMap<Tree, Map<number, Node | null>>();

export function parentOf(node: Node): Node | null {
  let parents = caches.get(node.tree);
  if (!parents) {
    parents = new Map([[node.tree.rootNode.id, null]]);
    caches.set(node.tree, parents);
  }
  const known = parents.get(node.id);
  if (known !== undefined) return known;
  let cur = node.tree.rootNode;
  while (cur.id !== node.id) {
    const next = cur.childWithDescendant(node);
    if (!next) return null;
    parents.set(next.id, cur);
    cur = next;
  }
  return parents.get(node.id) ?? null;
}

/** The nearest ancestor of `node` of one of the given types. */
export function ancestorOfType(node: Node, ...types: string[]): Node | undefined {
  for (let cur = parentOf(node); cur; cur = parentOf(cur)) if (types.includes(cur.type)) return cur;
  return undefined;
}
