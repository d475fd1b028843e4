/**
 * Conversions of open documents: which layers a scope takes (a layer, a class or builder, the file)
 * and the WorkspaceEdit that converts them. Shared by code actions (computed on resolve), CodeLens
 * clicks and the `sepconv.server.convert` command.
 */
import type { TextDocumentEdit, WorkspaceEdit } from 'vscode-languageserver';
import type { ServerContext, View } from '../context';
import { bulkCandidates, containerAt, containers, layerAt, plan, unitOffset, type Plan, type PlacedLayer } from '../layers';
import type { ConvertArgs, ConvertResult, Scope } from '../protocol';

export interface Selection {
  chosen: PlacedLayer[];
  /** `Conv2d`, `class Encoder`, `file` */
  what: string;
}

/** The layers `scope` takes at `at`; a message when there are none. */
export function select(ctx: ServerContext, view: View, uri: string, scope: Scope, at: ConvertArgs['at']): Selection | string {
  const offset = at ? unitOffset(view.unit, uri, at) : undefined;
  switch (scope) {
    case 'layer': {
      const hit = offset === undefined ? undefined : layerAt(view.placed, offset);
      if (!hit) return 'no convolution at this position';
      if (!hit.layer.convertible) return `${hit.json.op} is not converted: ${hit.json.reason ?? 'not convertible'}`;
      return { chosen: [hit], what: hit.json.op };
    }
    case 'container': {
      const list = containers(view.unit, ctx.trees.tree(view.unit), view.placed);
      const c = offset === undefined ? undefined : containerAt(list, offset);
      if (!c) return 'no model class or builder at this position';
      const chosen = bulkCandidates(c.layers, view.settings.minSavings);
      return chosen.length ? { chosen, what: c.label } : `nothing in ${c.label} to convert`;
    }
    case 'file': {
      const chosen = bulkCandidates(view.placed, view.settings.minSavings);
      return chosen.length ? { chosen, what: view.unit.notebook ? 'notebook' : 'file' } : 'no convertible convolutions in this file';
    }
  }
}

/** Plans the conversion; a single layer converts whatever the threshold (the user pointed at it). */
export function planSelection(view: View, scope: Scope, sel: Selection): Plan {
  const opts = scope === 'layer' ? { ...view.rewriteOptions, minSavings: 0 } : view.rewriteOptions;
  return plan(view.unit, view.analysis, view.placed, sel.chosen, opts);
}

export function workspaceEdit(ctx: ServerContext, p: Plan): WorkspaceEdit {
  if (ctx.capabilities.documentChanges) {
    const documentChanges: TextDocumentEdit[] = p.documents.map((d) => ({
      textDocument: { uri: d.uri, version: d.version },
      edits: d.edits,
    }));
    return { documentChanges };
  }
  return { changes: Object.fromEntries(p.documents.map((d) => [d.uri, d.edits])) };
}

/** The version check every edit goes through: never edit a document that changed since it was analysed. */
export function staleMessage(ctx: ServerContext, uri: string, version: number | undefined): string | undefined {
  if (version === undefined) return undefined;
  const doc = ctx.store.get(uri);
  if (!doc) return 'the document is no longer open';
  return doc.version !== version
    ? `the document changed since it was analysed (version ${version}, now ${doc.version}); nothing was changed`
    : undefined;
}

export function summary(p: Plan, what: string): Omit<ConvertResult, 'applied'> {
  const skipped = p.skipped
    .filter((s) => s.layer.layer.convertible)
    .map((s) => ({ uri: s.layer.segment.uri, line: s.layer.json.line, column: s.layer.json.column, reason: s.reason }));
  const n = p.converted.length;
  const message = p.error
    ? p.error
    : `Converted ${n} convolution${n === 1 ? '' : 's'} in ${what}${skipped.length ? `; skipped ${skipped.length}: ${skipped.map((s) => `line ${s.line}: ${s.reason}`).join('; ')}` : ''}`;
  return { converted: p.error ? 0 : n, skipped, message };
}
