/** Text, Markdown and CSV renderings of the JSON report (the CLI and the editor's report export share them). */
import { chainText, compact, formatCount, percentDrop, type LayerJson, type MismatchJson, type ModelJson, type TotalsJson } from './report';
import { grouped } from './digits';

export interface FileJson {
  path: string;
  error: string | null;
  layers: LayerJson[];
  /** the models shape inference ran (PyTorch), when the file has any */
  models?: ModelJson[];
  totals?: TotalsJson;
}

const shapeText = (s: number[]) => s.join('x');

/** `1x64x56x56 → 1x128x28x28, 2 instances, 2 calls` */
export function shapesSummary(l: LayerJson): string | undefined {
  const s = l.shapes;
  if (!s) return undefined;
  if (!s.exact) return `shapes not inferred: ${s.reason ?? 'unknown'}`;
  const io = `${s.inputShapes.map(shapeText).join(', ') || '-'} → ${s.outputShapes.map(shapeText).join(', ') || '-'}`;
  return `${io}, ${s.instances} instance${s.instances === 1 ? '' : 's'}, ${s.calls} call${s.calls === 1 ? '' : 's'} in ${s.model}`;
}

/** `model resnet18 (line 250): input 1x3x224x224 (default); params 11.69M → 1.45M (−87.6%); conv MACs ...` */
export function modelLine(m: ModelJson): string {
  const drop = (a: number | null, b: number | null) => (a !== null && b ? ` (${percentDrop(1 - a / b)})` : '');
  const num = (v: number | null) => (v === null ? '?' : compact(v));
  const parts = [
    `input ${m.inputShape ? shapeText(m.inputShape) : '?'} (${m.inputFrom})`,
    `params ${num(m.params.before)} → ${num(m.params.after)}${drop(m.params.after, m.params.before)}`,
    `conv MACs ${num(m.macs.before)} → ${num(m.macs.after)}${drop(m.macs.after, m.macs.before)}`,
    `${m.exactConvs}/${m.convs} conv modules exact`,
  ];
  return `model ${m.name} (line ${m.line}): ${parts.join('; ')}${m.reasons.length ? `; ${m.reasons[0]}` : ''}`;
}

/** `shape mismatch 17:29: conv2 expects 256 input channels, got 64 (Net.forward (line 15))`; positions as the layers' */
export function mismatchLine(m: MismatchJson): string {
  return `shape mismatch ${m.file ? `${m.file}:` : ''}${m.cell ? `cell ${m.cell}:` : ''}${m.line}:${m.column}: ${m.message} (${chainText(m)})`;
}

/** `12:9`, or `cell 3:12:9` in a notebook */
const loc = (l: LayerJson): string => `${l.cell ? `cell ${l.cell}:` : ''}${l.line}:${l.column}`;

/** `64→128 k3x3 p1x1 no bias` */
export function argsSummary(l: LayerJson): string {
  const ch = `${formatCount(l.inChannels, l.symbolic?.inChannels)}→${formatCount(l.outChannels, l.symbolic?.outChannels)}`;
  const parts = [ch];
  if (l.kernelSize) parts.push(`k${l.kernelSize.join('x')}`);
  if (l.stride && l.stride.some((v) => v !== 1)) parts.push(`s${l.stride.join('x')}`);
  if (typeof l.padding === 'string') parts.push(`p=${l.padding}`);
  else if (l.padding && l.padding.some((v) => v !== 0)) parts.push(`p${l.padding.join('x')}`);
  if (l.dilation && l.dilation.some((v) => v !== 1)) parts.push(`d${l.dilation.join('x')}`);
  if (l.groups !== null && l.groups !== 1) parts.push(`g${l.groups}`);
  else if (l.groups === null && l.symbolic?.groups && l.symbolic.groups !== '1') parts.push(`g${l.symbolic.groups}`);
  if (l.bias === false) parts.push('no bias');
  return parts.join(' ');
}

function pair(
  before: number | null,
  after: number | null,
  symBefore: string | null | undefined,
  symAfter: string | null | undefined,
  convertible: boolean,
): string {
  const b = before !== null ? compact(before) : (symBefore ?? '?');
  if (!convertible) return b;
  const a = after !== null ? compact(after) : (symAfter ?? '?');
  return `${b} → ${a}`;
}

function status(l: LayerJson): string {
  if (l.convertible) {
    const guarded = l.guard ? `, guarded: ${l.guard.converted} of ${l.guard.instances} modules` : '';
    if (l.savings.params !== null) return `convert (${percentDrop(l.savings.params)} params${guarded})`;
    return `convert (params × ${l.symbolic?.params.ratio ?? '?'})`;
  }
  return `not converted: ${l.reason}`;
}

function totalsLine(t: TotalsJson, label: string): string {
  const pb = t.params.before ?? 0;
  const pa = t.params.after ?? 0;
  const mb = t.macs.before ?? 0;
  const ma = t.macs.after ?? 0;
  const drop = (a: number, b: number) => (b > 0 ? ` (${percentDrop(1 - a / b)})` : '');
  const unresolved = t.unresolved ? `; ${t.unresolved} with symbolic sizes not summed` : '';
  return `${label}: ${t.layers} conv layers, ${t.convertible} convertible; params ${compact(pb)} → ${compact(pa)}${drop(pa, pb)}; MACs ${compact(mb)} → ${compact(ma)}${drop(ma, mb)}${unresolved}`;
}

/** Inputs named in the total line at most. */
const MAX_INPUTS_SHOWN = 3;

export function formatTable(files: FileJson[], overall: TotalsJson): string {
  const out: string[] = [];
  for (const f of files) {
    if (f.error && f.layers.length === 0) {
      out.push(`${f.path}: ${f.error}`, '');
      continue;
    }
    if (f.layers.length === 0 && !f.models?.length) continue;
    out.push(f.path + (f.error ? `  (${f.error})` : ''));
    const rows = f.layers.map((l) => [
      loc(l),
      l.op,
      argsSummary(l),
      pair(l.params.before, l.params.after, l.symbolic?.params.before, l.symbolic?.params.after, l.convertible),
      pair(l.macs.before, l.macs.after, l.symbolic?.macs.before, l.symbolic?.macs.after, l.convertible),
      status(l),
    ]);
    const header = ['line:col', 'layer', 'arguments', 'params', 'MACs', ''];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) =>
      '  ' +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd();
    if (rows.length) out.push(fmt(header), ...rows.map(fmt));
    for (const l of f.layers) {
      const shapes = shapesSummary(l);
      const notes = [
        ...(shapes ? [shapes] : []),
        ...l.assumptions.filter((a) => !a.startsWith('input ') && !a.startsWith('shapes not inferred')),
        ...(l.symbolic && l.params.before === null
          ? [`symbolic: params ${l.symbolic.params.before} → ${l.symbolic.params.after ?? '?'}`]
          : []),
      ];
      if (notes.length) out.push(`    ${loc(l)} ${notes.join('; ')}`);
    }
    if (f.totals && f.layers.length) out.push('  ' + totalsLine(f.totals, 'file'));
    for (const m of f.models ?? []) {
      out.push('  ' + modelLine(m));
      for (const x of m.mismatches ?? []) out.push('    ' + mismatchLine(x));
    }
    out.push('');
  }
  const inputs = [...new Set(files.flatMap((f) => f.layers.flatMap((l) => l.assumptions.filter((a) => a.startsWith('input ')))))];
  // one short line: a file of many models names a few inputs, the layers' notes name the rest
  const shown =
    inputs.length > MAX_INPUTS_SHOWN
      ? [...inputs.slice(0, MAX_INPUTS_SHOWN - 1), `${inputs.length - MAX_INPUTS_SHOWN + 1} more (see the models)`]
      : inputs;
  out.push(totalsLine(overall, 'total') + (shown.length ? `; MACs per sample at ${shown.join(', ')}` : ''));
  return out.join('\n');
}

export function formatMarkdown(files: FileJson[], overall: TotalsJson): string {
  const out: string[] = [
    '| Location | Layer | Arguments | Params | Params (separable) | MACs | MACs (separable) | Savings | Status |',
    '|---|---|---|---:|---:|---:|---:|---:|---|',
  ];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  for (const f of files) {
    if (f.error && f.layers.length === 0) {
      out.push(`| ${esc(f.path)} | | | | | | | | ${esc(f.error)} |`);
      continue;
    }
    for (const l of f.layers) {
      const after = (v: number | null, s: string | null | undefined) => (l.convertible || v !== null ? formatCount(v, s) : '');
      out.push(
        `| ${esc(f.path)}:${loc(l)} | ${l.op} | ${esc(argsSummary(l))} | ${formatCount(l.params.before, l.symbolic?.params.before)} | ${after(l.params.after, l.symbolic?.params.after)} | ${formatCount(l.macs.before, l.symbolic?.macs.before)} | ${after(l.macs.after, l.symbolic?.macs.after)} | ${l.savings.params !== null ? percentDrop(l.savings.params) : ''} | ${esc(l.convertible ? 'convertible' : `not converted: ${l.reason}`)} |`,
      );
    }
  }
  out.push('', totalsLine(overall, '**Total**'));
  const models = files.flatMap((f) => (f.models ?? []).map((m) => ({ f, m })));
  if (models.length) {
    const num = (v: number | null) => (v === null ? '?' : grouped(v));
    out.push(
      '',
      '| Model | Input | Params | Params (separable) | Conv MACs | Conv MACs (separable) | Savings (MACs) | Exact conv modules |',
      '|---|---|---:|---:|---:|---:|---:|---|',
    );
    for (const { f, m } of models) {
      out.push(
        `| ${esc(f.path)}:${m.line} ${esc(m.name)} | ${m.inputShape ? shapeText(m.inputShape) : '?'} (${esc(m.inputFrom)}) | ${num(m.params.before)} | ${num(m.params.after)} | ${num(m.macs.before)} | ${num(m.macs.after)} | ${m.savings.macs !== null ? percentDrop(m.savings.macs) : ''} | ${m.exactConvs}/${m.convs}${m.reasons.length ? ` (${esc(m.reasons[0])})` : ''} |`,
      );
    }
    const mismatches = models.flatMap(({ f, m }) =>
      (m.mismatches ?? []).map((x) => `- ${esc(f.path)}: model ${esc(m.name)}: ${esc(mismatchLine(x))}`),
    );
    if (mismatches.length) out.push('', '**Shape mismatches** (PyTorch raises there):', '', ...mismatches);
  }
  return out.join('\n');
}

const CSV_COLUMNS = [
  'path',
  'cell',
  'line',
  'column',
  'framework',
  'op',
  'in_channels',
  'out_channels',
  'kernel_size',
  'stride',
  'padding',
  'dilation',
  'groups',
  'bias',
  'convertible',
  'reason',
  'params_before',
  'params_after',
  'macs_before',
  'macs_after',
  'savings_params',
  'savings_macs',
  'assumptions',
];

/** One row per layer with plain numbers (symbolic ones as their formula), RFC 4180 quoting. */
export function formatCsv(files: FileJson[]): string {
  const cell = (v: string | number | boolean | number[] | null | undefined): string => {
    const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join('x') : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const rows = [CSV_COLUMNS.join(',')];
  for (const f of files) {
    for (const l of f.layers) {
      const sym = l.symbolic;
      rows.push(
        [
          f.path,
          l.cell ?? '',
          l.line,
          l.column,
          l.framework,
          l.op,
          l.inChannels ?? sym?.inChannels,
          l.outChannels ?? sym?.outChannels,
          l.kernelSize,
          l.stride,
          l.padding,
          l.dilation,
          l.groups ?? sym?.groups,
          l.bias,
          l.convertible,
          l.reason,
          l.params.before ?? sym?.params.before,
          l.params.after ?? sym?.params.after,
          l.macs.before ?? sym?.macs.before,
          l.macs.after ?? sym?.macs.after,
          l.savings.params,
          l.savings.macs,
          l.assumptions.join('; '),
        ]
          .map(cell)
          .join(','),
      );
    }
  }
  return rows.join('\r\n') + '\r\n';
}
