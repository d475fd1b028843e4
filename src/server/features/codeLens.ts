/**
 * A CodeLens above each `nn.Module` subclass and tfjs model builder with its totals, e.g.
 * `5 convs · 4.7M params → 0.6M separable (−87%)`; clicking converts all of them.
 */
import type { CancellationToken, CodeLens, CodeLensParams } from 'vscode-languageserver';
import { compact, percentDrop, totals } from '../../analysis/report';
import type { ServerContext } from '../context';
import { bulkCandidates, containers, type Container } from '../layers';
import { ServerCommands, type ConvertArgs } from '../protocol';

export async function onCodeLens(ctx: ServerContext, params: CodeLensParams, token?: CancellationToken): Promise<CodeLens[] | null> {
  const uri = params.textDocument.uri;
  const view = await ctx.view(uri, token);
  if (!view || !view.settings['codeLens.enabled'] || view.placed.length === 0) return null;
  const tree = ctx.trees.tree(view.unit);
  const lenses: CodeLens[] = [];
  for (const c of containers(view.unit, tree, view.placed)) {
    if (c.segment.uri !== uri) continue;
    const candidates = bulkCandidates(c.layers, view.settings.minSavings);
    const title = lensTitle(c);
    if (candidates.length === 0) {
      lenses.push({ range: c.headerRange, command: { title, command: '' } });
      continue;
    }
    const args: ConvertArgs = { uri, version: c.segment.version, scope: 'container', at: c.headerRange.start };
    lenses.push({ range: c.headerRange, command: { title, command: ServerCommands.convert, arguments: [args] } });
  }
  return lenses;
}

/** `5 convs · 4.7M params → 0.6M separable (−87%)`, from the core's totals. */
export function lensTitle(c: Container): string {
  const t = totals(c.layers.map((p) => p.json));
  const convs = `${t.layers} conv${t.layers === 1 ? '' : 's'}`;
  const pb = t.params.before ?? 0;
  const pa = t.params.after ?? 0;
  if (t.convertible === 0) return `${convs} · ${compact(pb)} params · none convertible`;
  const drop = pb > 0 ? ` (${percentDrop(1 - pa / pb, 0)})` : '';
  const symbolic = t.unresolved ? ` · ${t.unresolved} symbolic` : '';
  return `${convs} · ${compact(pb, 1)} params → ${compact(pa, 1)} separable${drop}${symbolic}`;
}
