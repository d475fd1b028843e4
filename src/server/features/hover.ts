/**
 * The hover card on a convolution call (callee or arguments): the resolved signature, a table of
 * params, MACs and FLOPs standard | separable | saving with the input size it assumes, the code the
 * call would become, and what to know before converting. Every number comes from the core's report.
 */
import { MarkupKind, type CancellationToken, type Hover, type HoverParams } from 'vscode-languageserver';
import type { Layer } from '../../analysis/model';
import { FLOPS_PER_MAC, formatCount, percentDrop, type LayerJson } from '../../analysis/report';
import { frameworkOf } from '../../frameworks/index';
import { unknownShapes } from '../analyses';
import type { ServerContext, View } from '../context';
import { layerAt, replacementText, unitOffset, type PlacedLayer } from '../layers';
import type { WeightsInfo } from '../weights';

export async function onHover(ctx: ServerContext, params: HoverParams, token?: CancellationToken): Promise<Hover | null> {
  // the layers around the position, with the full analysis's numbers, without waiting for the whole file
  const view = await ctx.pointView(params.textDocument.uri, params.position, token);
  if (!view || !view.settings['hover.enabled']) return null;
  const offset = unitOffset(view.unit, params.textDocument.uri, params.position);
  if (offset === undefined) return null;
  const hit = layerAt(view.placed, offset);
  if (!hit || hit.segment.uri !== params.textDocument.uri) return null;
  const weights = await ctx.weights.forLayer(ctx.analyses, view, hit.layer, token);
  return { contents: { kind: MarkupKind.Markdown, value: hoverMarkdown(view, hit, weights) }, range: hit.range };
}

const KIND_NAMES: Partial<Record<Layer['kind'], string>> = {
  depthwise: 'depthwise convolution',
  pointwise: 'pointwise (1x1) convolution',
  separable: 'depthwise separable convolution',
  transposed: 'transposed convolution',
  lazy: 'lazy convolution',
};

export function hoverMarkdown(view: View, hit: PlacedLayer, weights?: WeightsInfo): string {
  const { layer, json } = hit;
  const framework = frameworkOf(layer);
  const lang = framework.fence;
  const out: string[] = [];
  const what = KIND_NAMES[layer.kind];
  out.push(`**SepConv** · ${json.op}${what ? ` — ${what}` : ''}`, '');
  out.push('```' + lang, framework.signature(layer, json), '```', '');

  const sym = json.symbolic;
  const flops = (v: number | null, s: string | null | undefined) =>
    (v !== null ? v * FLOPS_PER_MAC : null) ?? (s ? `${FLOPS_PER_MAC}·(${s})` : null);
  const count = (v: number | string | null) => (typeof v === 'string' ? v : formatCount(v, null));
  const rows: [string, number | string | null, number | string | null][] = [
    ['params', json.params.before ?? sym?.params.before ?? null, json.params.after ?? sym?.params.after ?? null],
    ['MACs', json.macs.before ?? sym?.macs.before ?? null, json.macs.after ?? sym?.macs.after ?? null],
    ['FLOPs', flops(json.macs.before, sym?.macs.before), flops(json.macs.after, sym?.macs.after)],
  ];
  if (layer.convertible) {
    const saving = (k: 'params' | 'macs') => {
      const f = json.savings[k];
      if (f !== null) return percentDrop(f);
      const ratio = sym?.[k].ratio;
      return ratio ? `× ${ratio}` : '';
    };
    out.push('| | standard | separable | saving |', '|:--|--:|--:|--:|');
    for (const [i, [name, before, after]] of rows.entries()) {
      out.push(`| ${name} | ${count(before)} | ${count(after)} | ${saving(i === 0 ? 'params' : 'macs')} |`);
    }
  } else {
    out.push('| | this layer |', '|:--|--:|');
    for (const [name, before] of rows) out.push(`| ${name} | ${count(before)} |`);
  }
  out.push('', inputLine(layer, json, view), '');

  if (!layer.convertible && json.reason) out.push(`**Not converted:** ${json.reason}`, '');
  if (layer.convertible) {
    const becomes = replacementText(view.unit, view.analysis, layer, view.rewriteOptions);
    const g = json.guard;
    const which = g
      ? ` (${g.converted} of the ${g.instances} modules built here: where \`${g.condition}\`; the others stay as they are)`
      : '';
    if (becomes) out.push(`**Becomes**${which}`, '```' + lang, dedent(becomes, lineIndent(hit)), '```', '');
  }
  if (weights) out.push(...weightsMarkdown(weights), '');
  if (json.warnings.length) {
    out.push('**Before converting**', ...json.warnings.map((w) => `- ⚠ ${w}`), '');
  }
  const assumptions = json.assumptions.filter((a) => !a.startsWith('input '));
  if (assumptions.length) out.push('**Assumptions**', ...assumptions.map((a) => `- ${asSettings(a)}`), '');
  if (sym) {
    out.push(
      `Sizes stay symbolic until ${symbolsOf(json)} ${symbolsOf(json).includes(',') ? 'have' : 'has'} a value: add \`# sepconv: name=64\` to the file or set \`sepconv.assumptions\`.`,
      '',
    );
  }
  return out.join('\n').trimEnd();
}

/** Modules shown per call site (a helper like `conv3x3()` builds many). */
const MAX_MODULES = 8;

/**
 * The checkpoint's part of the card: per module of the call site, K, the energy kept, the relative
 * error, params and MACs at that K (the numbers of `sepconv report --weights`, more digits).
 */
function weightsMarkdown(w: WeightsInfo): string[] {
  const name = `\`${w.checkpoint}\``;
  if (w.state === 'loading') return [`weights: loading… (${w.what}: ${name})`];
  if (w.state === 'error') return [`weights (${name}): ${w.reason}`];
  const of = `model \`${w.model}\`${w.prefix ? `, keys under \`${w.prefix}\`` : ''}`;
  if (w.modules.length === 0) return [`weights (${name}, ${of}): no module it holds is built by this call`];
  const pair = (p: { before: number; after: number } | null) =>
    p ? `${formatCount(p.before, null)} → ${formatCount(p.after, null)}` : '?';
  const rows = w.modules
    .slice(0, MAX_MODULES)
    .map(
      (m) =>
        `| \`${m.key}\` | ${m.k}/${m.fullRank} | ${(m.energy * 100).toFixed(4)}% | ${m.error.toExponential(3)} | ${pair(m.params)} | ${pair(m.macs)} |`,
    );
  const more = w.modules.length - MAX_MODULES;
  return [
    `**Weights** · ${name} (${of})`,
    '',
    '| module | K | energy kept | rel. error | params | MACs |',
    '|:--|--:|--:|--:|--:|--:|',
    ...rows,
    ...(more > 0 ? [`| … and ${more} more | | | | | |`] : []),
    '',
    `${w.rank}; relative error ‖W − W_K‖ / ‖W‖.`,
  ];
}

/** The indentation of the line the call starts on: continuation lines of its rewrite carry it. */
function lineIndent(hit: PlacedLayer): string {
  const line = hit.segment.doc.getText({ start: { line: hit.range.start.line, character: 0 }, end: hit.range.start });
  return /^[ \t]*/.exec(line)![0];
}

function dedent(text: string, indent: string): string {
  return text
    .split('\n')
    .map((l, i) => (i > 0 && l.startsWith(indent) ? l.slice(indent.length) : l))
    .join('\n');
}

function symbolsOf(json: LayerJson): string {
  const text = [json.symbolic?.inChannels, json.symbolic?.outChannels, json.symbolic?.groups].filter(Boolean).join(' ');
  const names = [...new Set(text.match(/[A-Za-z_][\w.]*/g) ?? [])];
  return names.map((n) => `\`${n}\``).join(', ') || 'its symbols';
}

/** The flags the core names in its assumptions, as the editor's settings. */
function asSettings(text: string): string {
  return text.replace(/--input-size/g, '`sepconv.inputSize`').replace(/--assume/g, '`sepconv.assumptions`');
}

const shape = (s: number[]) => `(${s.join(', ')})`;

function inputLine(layer: Layer, json: LayerJson, view: View): string {
  const input = layer.assumptions.find((a) => a.startsWith('input '));
  const unit = `1 MAC = one multiply-accumulate, FLOPs = ${FLOPS_PER_MAC} × MACs, bias adds ${view.options.countBiasAdds ? 'counted' : 'not counted'}`;
  const lines: string[] = [];
  const sh = json.shapes;
  if (sh) {
    const runs = `${sh.calls} call${sh.calls === 1 ? '' : 's'} of ${sh.instances} instance${sh.instances === 1 ? '' : 's'}`;
    const io = sh.inputShapes.length
      ? `: input ${sh.inputShapes.map(shape).join(', ')} → output ${sh.outputShapes.map(shape).join(', ')}`
      : '';
    lines.push(`In model \`${sh.model}\`, ${runs}${io}${sh.exact ? '' : ` (not exact: ${sh.reason ?? 'unknown shapes'})`}.`);
  }
  const unknown = sh ? undefined : unknownShapes(view.analysis);
  if (unknown) lines.push(`${unknown[0].toUpperCase()}${unknown.slice(1)}.`);
  const out = layer.cost.outputSize ? ` → output ${layer.cost.outputSize.join('x')}` : '';
  const where = input?.includes('(default)') ? ' — the default; set `sepconv.inputSize` for your data' : '';
  lines.push(`Per sample at ${input ? asSettings(input) : 'an unknown input size'}${out}${where}. ${unit}.`);
  return lines.join('\n\n');
}
