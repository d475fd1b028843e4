/**
 * PyTorch rewrite: a conv call becomes `nn.Sequential(depthwise, pointwise)`.
 *
 *   self.conv2 = nn.Conv2d(64, 128, 3, padding=1, bias=False)
 * becomes
 *   self.conv2 = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False), nn.Conv2d(64, 128, 1, bias=False))
 *
 * The callee prefix, positional or keyword style and argument expressions are the user's; the
 * layout (indent unit, line length, trailing commas) is the file's.
 */
import type { WrittenArg } from '../analysis/model';
import type { Norm } from '../analysis/options';
import type { PythonAnalysis, PythonLayer } from '../analysis/python/analyze';
import { localNameFor, type FromImport } from '../analysis/python/imports';
import { sliceWithEdits, type TextEdit } from './edits';
import { columnOf, detectLayout, formatCall, indentAt, type Layout } from './layout';

export interface RewriteOptions {
  depthMultiplier: number;
  norm: Norm;
  lineLength: number;
}

export interface Skipped {
  layer: PythonLayer;
  reason: string;
}

export interface PythonPlan {
  edits: TextEdit[];
  converted: PythonLayer[];
  skipped: Skipped[];
}

/** An expression that can stand as an operand of `*` without parentheses. */
function atomic(expr: string): boolean {
  return /^[\w.]+(\([^()]*\)|\[[^[\]]*\])?$/.test(expr.trim()) || /^\(.*\)$/s.test(expr.trim());
}

/** Calls other than these in an expression that is copied several times could have side effects. */
const PURE_CALLS = new Set(['int', 'min', 'max', 'len', 'abs', 'round']);

function hasImpureCall(expr: string): boolean {
  for (const m of expr.matchAll(/([A-Za-z_][\w.]*)\s*\(/g)) if (!PURE_CALLS.has(m[1]!)) return true;
  return false;
}

export function planPythonRewrite(text: string, analysis: PythonAnalysis, selected: readonly PythonLayer[], opts: RewriteOptions): PythonPlan {
  const layout = detectLayout(text, opts.lineLength);
  const plan: PythonPlan = { edits: [], converted: [], skipped: [] };
  const chosen: PythonLayer[] = [];
  for (const layer of selected) {
    if (!layer.convertible) {
      plan.skipped.push({ layer, reason: layer.reason ?? 'not convertible' });
      continue;
    }
    const cin = layer.written.find((w) => w.param === 'in_channels')!;
    if (hasImpureCall(cin.text)) {
      plan.skipped.push({ layer, reason: `in_channels \`${cin.text}\` would be evaluated several times; bind it to a name first` });
      continue;
    }
    chosen.push(layer);
  }
  // attribute reads that change (`.in_channels` -> `[0].in_channels`)
  const refEdits: TextEdit[] = chosen.flatMap((l) =>
    l.references.filter((r) => r.replacement).map((r) => ({ start: r.fieldSpan.start, end: r.fieldSpan.end, newText: r.replacement! })),
  );
  const needImports = new Map<number, { statement: FromImport | undefined; names: Set<string> }>();
  for (const layer of chosen) {
    const names: string[] = [];
    const nameOf = (cls: string) => {
      const n = localNameFor(cls, layer.callee, analysis.imports);
      if (n.needsImport) names.push(cls);
      return n.text;
    };
    const newText = renderLayer(text, layer, layout, opts, nameOf, refEdits);
    plan.edits.push({ start: layer.span.start, end: layer.span.end, newText });
    plan.converted.push(layer);
    if (names.length) {
      // next to the callee's own import when it is `from torch.nn import`, else the first such line
      const own = analysis.imports.bindings.get(layer.callee)?.statement;
      const stmt = own?.module === 'torch.nn' ? own : (analysis.imports.fromTorchNn[0] ?? own);
      const key = stmt?.span.start ?? -1;
      const entry = needImports.get(key) ?? { statement: stmt, names: new Set<string>() };
      for (const n of names) entry.names.add(n);
      needImports.set(key, entry);
    }
  }
  const replaced = plan.edits.map((e) => ({ start: e.start, end: e.end }));
  plan.edits.push(...refEdits.filter((r) => !replaced.some((s) => r.start >= s.start && r.end <= s.end)));
  for (const { statement, names } of needImports.values()) plan.edits.push(importEdit(text, statement, [...names], layout));
  return plan;
}

function importEdit(text: string, statement: FromImport | undefined, names: string[], layout: Layout): TextEdit {
  const list = names.sort().join(', ');
  if (statement?.module === 'torch.nn') return { start: statement.lastNameEnd, end: statement.lastNameEnd, newText: `, ${list}` };
  // the callee came from elsewhere (`torch.nn.modules.conv`): a new import line after it
  const line = `from torch.nn import ${list}`;
  if (!statement) return { start: 0, end: 0, newText: line + layout.eol };
  const at = statement.span.end;
  return { start: at, end: at, newText: layout.eol + indentAt(text, statement.span.start) + line };
}

function renderLayer(
  text: string,
  layer: PythonLayer,
  layout: Layout,
  opts: RewriteOptions,
  nameOf: (cls: string) => string,
  refEdits: TextEdit[],
): string {
  const argText = (w: WrittenArg) => sliceWithEdits(text, w.span.start, w.span.end, refEdits);
  const get = (p: string) => layer.written.find((w) => w.param === p);
  const positionalCount = layer.written.filter((w) => w.keyword === undefined).length;
  const m = opts.depthMultiplier;
  const cin = argText(get('in_channels')!);
  const cout = argText(get('out_channels')!);
  const mid = m === 1 ? cin : `${atomic(cin) ? cin : `(${cin})`} * ${m}`;
  const conv = layer.callee;
  const dims = layer.args.dims;

  // depthwise: in, in*m, kernel, stride, padding, dilation as written (positional where they were), then groups and bias
  const dwParams: [string, string | undefined][] = [
    ['in_channels', cin],
    ['out_channels', mid],
    ['kernel_size', argText(get('kernel_size')!)],
    ['stride', get('stride') && argText(get('stride')!)],
    ['padding', get('padding') && argText(get('padding')!)],
    ['dilation', get('dilation') && argText(get('dilation')!)],
  ];
  const depthwise: string[] = [];
  let positional = true;
  dwParams.forEach(([name, value], i) => {
    if (value === undefined) {
      positional = false;
      return;
    }
    if (positional && i < positionalCount) depthwise.push(value);
    else {
      positional = false;
      depthwise.push(`${name}=${value}`);
    }
  });
  depthwise.push(`groups=${cin}`, 'bias=False');
  for (const p of ['padding_mode', 'device', 'dtype']) {
    const w = get(p);
    if (w) depthwise.push(`${p}=${argText(w)}`);
  }

  // pointwise: in*m, out, 1, then groups (grouped source), bias, device, dtype as written
  const pwParams: [string, string][] = [
    ['in_channels', mid],
    ['out_channels', cout],
    ['kernel_size', '1'],
  ];
  const pointwise = pwParams.map(([name, value], i) => (i < positionalCount ? value : `${name}=${value}`));
  const groups = get('groups');
  if (groups && layer.args.groups?.constant !== 1) pointwise.push(`groups=${argText(groups)}`);
  for (const p of ['bias', 'device', 'dtype']) {
    const w = get(p);
    if (w) pointwise.push(`${p}=${argText(w)}`);
  }

  const indent = indentAt(text, layer.span.start);
  const inner = indent + layout.indentUnit;
  const innerCall = (args: string[]) => formatCall(conv, args, { startColumn: inner.length, indent: inner, layout });
  const items = [innerCall(depthwise)];
  if (opts.norm !== 'none') items.push(`${nameOf(`BatchNorm${dims}d`)}(${mid})`);
  if (opts.norm === 'bn-relu') items.push(`${nameOf('ReLU')}(inplace=True)`);
  items.push(innerCall(pointwise));
  const oneLine = `${nameOf('Sequential')}(${[conv + '(' + depthwise.join(', ') + ')', ...items.slice(1, -1), conv + '(' + pointwise.join(', ') + ')'].join(', ')})`;
  const startColumn = columnOf(text, layer.span.start);
  const rest = text.slice(layer.span.end, text.indexOf('\n', layer.span.end) < 0 ? text.length : text.indexOf('\n', layer.span.end));
  if (!layer.comments.length && !oneLine.includes('\n') && startColumn + oneLine.length + rest.trimEnd().length <= layout.lineLength) return oneLine;
  return formatCall(nameOf('Sequential'), items, { startColumn, indent, layout, prelude: layer.comments, forceMultiline: true });
}
