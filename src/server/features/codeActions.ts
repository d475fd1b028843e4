/**
 * Code actions of kind `refactor.rewrite.sepconv`: convert the conv under the cursor, all convs of
 * the class or builder, all convs of the file (also as `source.convertAll.sepconv`, for
 * `editor.codeActionsOnSave`). `context.only` is honoured; edits are computed on resolve and only
 * for the document version the action was made for.
 */
import {
  CodeActionKind,
  CodeActionTriggerKind,
  type CancellationToken,
  type CodeAction,
  type CodeActionParams,
} from 'vscode-languageserver';
import { percentDrop } from '../../analysis/report';
import type { ServerContext } from '../context';
import { bulkCandidates, containerAt, containers, layerAt, unitOffset } from '../layers';
import { CodeActionKinds, type CodeActionData, type Scope } from '../protocol';
import { planSelection, select, staleMessage, workspaceEdit } from './convert';

/** Does an action of `kind` pass `only`? Source actions are returned only when asked for. */
export function wanted(kind: string, only: readonly string[] | undefined): boolean {
  if (!only || only.length === 0) return !kind.startsWith(CodeActionKind.Source);
  return only.some((o) => kind === o || kind.startsWith(`${o}.`));
}

export async function onCodeAction(ctx: ServerContext, params: CodeActionParams, token?: CancellationToken): Promise<CodeAction[] | null> {
  const uri = params.textDocument.uri;
  const view = await ctx.view(uri, token);
  if (!view) return null;
  const only = params.context.only;
  const explicit = params.context.triggerKind === CodeActionTriggerKind.Invoked || (only?.length ?? 0) > 0;
  const start = unitOffset(view.unit, uri, params.range.start);
  if (start === undefined) return null;
  const segment = view.unit.segments.find((s) => s.uri === uri)!;
  const actions: CodeAction[] = [];
  const make = (title: string, kind: string, scope: Scope, at = params.range.start): CodeAction => {
    const data: CodeActionData = { uri, version: segment.version, scope, at };
    return { title, kind, data };
  };

  const hit = layerAt(view.placed, start);
  const onCall = hit && hit.segment.uri === uri ? hit : undefined;
  const fileCandidates = bulkCandidates(view.placed, view.settings.minSavings);
  if (wanted(CodeActionKinds.rewrite, only)) {
    if (onCall?.layer.convertible) {
      const s = onCall.json.savings.params;
      const saving = s !== null ? percentDrop(s) : `× ${onCall.json.symbolic?.params.ratio ?? '?'}`;
      const g = onCall.json.guard;
      const guarded = g ? `, ${g.converted} of ${g.instances} modules where ${g.condition}` : '';
      const a = make(`Convert to depthwise separable (${saving} params${guarded})`, CodeActionKinds.rewrite, 'layer', onCall.range.start);
      a.isPreferred = true;
      actions.push(a);
    } else if (onCall) {
      actions.push({
        title: 'Convert to depthwise separable',
        kind: CodeActionKinds.rewrite,
        disabled: { reason: onCall.json.reason ?? 'not convertible' },
      });
    }
    const container = view.placed.length ? containerAt(containers(view.unit, ctx.trees.tree(view.unit), view.placed), start) : undefined;
    const inContainer = container && container.segment.uri === uri ? bulkCandidates(container.layers, view.settings.minSavings) : [];
    const onHeader = container !== undefined && container.headerRange.start.line === params.range.start.line;
    if (container && inContainer.length >= 2 && (onCall || explicit || onHeader)) {
      actions.push(
        make(
          `Convert all ${inContainer.length} convolutions in ${container.name}`,
          CodeActionKinds.rewrite,
          'container',
          container.headerRange.start,
        ),
      );
    }
    const covered = Math.max(inContainer.length, onCall?.layer.convertible ? 1 : 0);
    if (fileCandidates.length > covered && (onCall || explicit || onHeader)) {
      actions.push(make(`Convert all convolutions in ${view.unit.notebook ? 'notebook' : 'file'}`, CodeActionKinds.rewrite, 'file'));
    }
  }
  if (fileCandidates.length > 0 && only && wanted(CodeActionKinds.convertAll, only)) {
    actions.push(make(`Convert all convolutions in ${view.unit.notebook ? 'notebook' : 'file'}`, CodeActionKinds.convertAll, 'file'));
  }
  if (!ctx.capabilities.resolveEdits) return Promise.all(actions.map((a) => (a.data ? onResolve(ctx, a, token) : Promise.resolve(a))));
  return actions;
}

export async function onResolve(ctx: ServerContext, action: CodeAction, token?: CancellationToken): Promise<CodeAction> {
  const data = action.data as CodeActionData | undefined;
  if (!data || action.edit) return action;
  const stale = staleMessage(ctx, data.uri, data.version);
  if (stale) {
    ctx.warn(`SepConv: ${stale}`);
    return action;
  }
  const view = await ctx.view(data.uri, token);
  if (!view || staleMessage(ctx, data.uri, data.version)) return action;
  const sel = select(ctx, view, data.uri, data.scope, data.at);
  if (typeof sel === 'string') {
    ctx.warn(`SepConv: ${sel}`);
    return action;
  }
  const p = planSelection(view, data.scope, sel);
  if (p.error) {
    ctx.warn(`SepConv: ${p.error}`);
    return action;
  }
  return { ...action, edit: workspaceEdit(ctx, p) };
}
