/**
 * An inlay hint at the end of every convertible conv call: `separable: −88.7% params · −88.7% MACs`
 * (the core's `savingsLabel`). With `sepconv.inlayHints.showReasons`, convs that are not converted
 * get a short reason.
 */
import { MarkupKind, type CancellationToken, type InlayHint, type InlayHintParams } from 'vscode-languageserver';
import { compact, FLOPS_PER_MAC, savingsLabel } from '../../analysis/report';
import type { ServerContext } from '../context';
import type { PlacedLayer } from '../layers';

const MAX_REASON = 48;

export async function onInlayHints(ctx: ServerContext, params: InlayHintParams, token?: CancellationToken): Promise<InlayHint[] | null> {
  const uri = params.textDocument.uri;
  // while typing, only the visible lines are analysed; their savings do not depend on shapes
  const view = await ctx.rangeView(uri, params.range, token);
  if (!view || !view.settings['inlayHints.enabled']) return null;
  const unit = view.settings['inlayHints.unit'];
  const { start, end } = params.range;
  const inRange = (p: PlacedLayer) =>
    p.segment.uri === uri &&
    (p.range.end.line > start.line || (p.range.end.line === start.line && p.range.end.character >= start.character)) &&
    (p.range.end.line < end.line || (p.range.end.line === end.line && p.range.end.character <= end.character));
  const hints: InlayHint[] = [];
  for (const p of view.placed.filter(inRange)) {
    const { json } = p;
    if (json.convertible) {
      hints.push({ position: p.range.end, label: savingsLabel(json, unit), paddingLeft: true, tooltip: tooltip(p, unit) });
    } else if (view.settings['inlayHints.showReasons'] && json.reason) {
      const short = json.reason.length > MAX_REASON ? `${json.reason.slice(0, MAX_REASON - 1)}…` : json.reason;
      hints.push({ position: p.range.end, label: `not separable: ${short}`, paddingLeft: true, tooltip: json.reason });
    }
  }
  return hints;
}

function tooltip(p: PlacedLayer, unit: 'MACs' | 'FLOPs'): { kind: 'markdown'; value: string } {
  const { json } = p;
  const scale = unit === 'FLOPs' ? FLOPS_PER_MAC : 1;
  const pair = (b: number | null, a: number | null) =>
    b !== null && a !== null ? `${compact(b * scale)} → ${compact(a * scale)}` : 'symbolic';
  const params =
    json.params.before !== null && json.params.after !== null
      ? `${compact(json.params.before)} → ${compact(json.params.after)}`
      : 'symbolic';
  return {
    kind: MarkupKind.Markdown,
    value: `Depthwise separable ${json.op}: params ${params}, ${unit} ${pair(json.macs.before, json.macs.after)}. Hover the call for details; \`Ctrl+.\` to convert.`,
  };
}
