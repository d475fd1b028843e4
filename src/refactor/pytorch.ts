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
import { hasImpureCall } from '../analysis/python/guard';
import { localNameFor, type FromImport } from '../analysis/python/imports';
import { sliceWithEdits, type TextEdit } from './edits';
import { columnOf, detectLayout, formatCall, indentAt, type Layout, type Note } from './layout';

export interface RewriteOptions {
  depthMultiplier: number;
  /** a depth multiplier per layer, by the start of its call (chosen from a checkpoint's energy); others take `depthMultiplier` */
  multipliers?: ReadonlyMap<number, number>;
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

/**
 * Can `expr` stand as the left operand of `* m` without parentheses? Yes when, outside brackets, it
 * has no operator that binds more loosely than `*` (`width`, `f(x)[0]`, `width * 2`, `c // 4`, `-c`);
 * no for `a + b`, `(a) - (b)`, `a if c else b`.
 */
function multipliable(expr: string): boolean {
  let depth = 0;
  let flat = '';
  for (const ch of expr.trim()) {
    if ('([{'.includes(ch)) {
      if (depth === 0) flat += ch;
      depth++;
    } else if (')]}'.includes(ch)) {
      depth--;
      if (depth === 0) flat += ch;
    } else if (depth === 0) {
      flat += ch;
    }
  }
  return !/[+<>=!|&^,:@]|[\w.)\]}]\s*-|\b(if|else|and|or|not|is|in|lambda)\b/.test(flat);
}

export function planPythonRewrite(
  text: string,
  analysis: PythonAnalysis,
  selected: readonly PythonLayer[],
  opts: RewriteOptions,
): PythonPlan {
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
  // (two convs assigned to one attribute share its reads: each read is edited once)
  const refEdits: TextEdit[] = [
    ...new Map(
      chosen.flatMap((l) =>
        l.references
          .filter((r) => r.replacement)
          .map(
            (r) =>
              [
                `${r.fieldSpan.start}:${r.fieldSpan.end}:${r.replacement}`,
                { start: r.fieldSpan.start, end: r.fieldSpan.end, newText: r.replacement! },
              ] as const,
          ),
      ),
    ).values(),
  ];
  // an initialiser of the conv's weight: repeated after its statement for the pointwise conv
  const initEdits: TextEdit[] = [
    ...new Map(
      chosen.flatMap((l) =>
        l.references
          .filter((r) => r.replacement && r.also)
          .map(
            (r) =>
              [r.also!.after, { start: r.also!.after, end: r.also!.after, newText: layout.eol + r.also!.indent + r.also!.text }] as const,
          ),
      ),
    ).values(),
  ];
  const needImports = new Map<number, { statement: FromImport | undefined; names: Set<string> }>();
  for (const layer of chosen) {
    const names: string[] = [];
    const nameOf = (cls: string) => {
      const n = localNameFor(cls, layer.classPath ?? layer.callee, analysis.imports);
      if (n.needsImport) names.push(cls);
      return n.text;
    };
    const newText = renderLayer(text, layer, layout, opts, nameOf, refEdits);
    plan.edits.push({ start: layer.span.start, end: layer.span.end, newText });
    // a conv subclass becomes a Sequential subclass: `class Conv3DSimple(nn.Sequential)`
    if (layer.subclass)
      plan.edits.push({ start: layer.subclass.baseSpan.start, end: layer.subclass.baseSpan.end, newText: nameOf('Sequential') });
    plan.converted.push(layer);
    if (names.length) {
      // on the first module-level `from torch.nn import` line (one place for all), else next to
      // the callee's own import
      const own = analysis.imports.bindings.get(layer.callee)?.statement;
      const top = analysis.imports.fromTorchNn.find((st) => indentAt(text, st.span.start) === '');
      const stmt = top ?? (own?.module === 'torch.nn' ? own : (analysis.imports.fromTorchNn[0] ?? own));
      const key = stmt?.span.start ?? -1;
      const entry = needImports.get(key) ?? { statement: stmt, names: new Set<string>() };
      for (const n of names) entry.names.add(n);
      needImports.set(key, entry);
    }
  }
  const replaced = plan.edits.map((e) => ({ start: e.start, end: e.end }));
  plan.edits.push(...[...refEdits, ...initEdits].filter((r) => !replaced.some((s) => r.start >= s.start && r.end <= s.end)));
  for (const { statement, names } of needImports.values()) plan.edits.push(...importEdit(text, statement, [...names], layout));
  return plan;
}

function importEdit(text: string, statement: FromImport | undefined, names: string[], layout: Layout): TextEdit[] {
  names.sort();
  if (statement?.module === 'torch.nn' && statement.names.length > 0) {
    // a sorted list stays sorted; any other gets the new names at its end
    const have = statement.names;
    const sorted = have.every((n, i) => i === 0 || have[i - 1].name <= n.name);
    const last = have[have.length - 1];
    // names inserted before an existing one, by its start offset; -1: after the last one
    const groups = new Map<number, string[]>();
    for (const name of names) {
      const pos = (sorted ? have.find((n) => n.name > name)?.span.start : undefined) ?? -1;
      groups.set(pos, [...(groups.get(pos) ?? []), name]);
    }
    // `from torch.nn import (\n    Conv2d,\n    Module,\n)`: one name per line, so the new ones too
    const perLine = text.slice(statement.span.start, have[0].span.start).includes('\n');
    const sep = perLine ? `,${layout.eol}${indentAt(text, have[0].span.start)}` : ', ';
    return [...groups].map(([pos, added]) =>
      pos < 0
        ? { start: last.span.end, end: last.span.end, newText: sep + added.join(sep) }
        : { start: pos, end: pos, newText: added.join(sep) + sep },
    );
  }
  // the callee came from elsewhere (`torch.nn.modules.conv`): a new import line after it
  const line = `from torch.nn import ${names.join(', ')}`;
  if (!statement) return [{ start: 0, end: 0, newText: line + layout.eol }];
  const at = statement.span.end;
  return [{ start: at, end: at, newText: layout.eol + indentAt(text, statement.span.start) + line }];
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
  const m = opts.multipliers?.get(layer.span.start) ?? opts.depthMultiplier;
  const cin = argText(get('in_channels')!);
  const cout = argText(get('out_channels')!);
  const mid = m === 1 ? cin : `${multipliable(cin) ? cin : `(${cin})`} * ${m}`;
  // a subclass's `super().__init__(...)` builds its conv class (as the class statement names it)
  const conv = layer.subclass ? layer.subclass.base : layer.callee;
  const dims = layer.args.dims;
  // a partial's bound keywords: the pointwise conv overrides the geometry it must not take
  const bound = new Set(layer.bound ?? []);
  const transposed = layer.kind === 'transposed';
  // a transposed conv's pointwise half is a plain 1x1 conv: `nn.ConvTranspose2d` -> `nn.Conv2d`
  const pointwiseConv = transposed
    ? /\.ConvTranspose[123]d$/.test(conv)
      ? conv.replace(/ConvTranspose([123])d$/, 'Conv$1d')
      : nameOf(`Conv${dims}d`)
    : conv;

  // a comment written with an argument goes with it, where it first appears in the new calls
  const placed = new Set<WrittenArg>();
  const noteOf = (w: WrittenArg | undefined): Note => {
    if (!w?.comments || placed.has(w)) return undefined;
    placed.add(w);
    return w.comments;
  };

  // depthwise: in, in*m, kernel, stride, padding, dilation as written (positional where they were), then groups and bias
  const dwParams: [string, string | undefined, WrittenArg | undefined][] = [
    ['in_channels', cin, get('in_channels')],
    ['out_channels', mid, undefined],
    ['kernel_size', get('kernel_size') && argText(get('kernel_size')!), get('kernel_size')],
    ['stride', get('stride') && argText(get('stride')!), get('stride')],
    ['padding', get('padding') && argText(get('padding')!), get('padding')],
    // a transposed conv's signature has output_padding here, and dilation after groups and bias
    transposed
      ? ['output_padding', get('output_padding') && argText(get('output_padding')!), get('output_padding')]
      : ['dilation', get('dilation') && argText(get('dilation')!), get('dilation')],
  ];
  const depthwise: string[] = [];
  const dwNotes: Note[] = [];
  let positional = true;
  dwParams.forEach(([name, value, w], i) => {
    if (value === undefined) {
      positional = false;
      return;
    }
    if (positional && i < positionalCount) depthwise.push(value);
    else {
      positional = false;
      depthwise.push(`${name}=${value}`);
    }
    dwNotes[depthwise.length - 1] = noteOf(w);
  });
  depthwise.push(`groups=${cin}`, 'bias=False');
  for (const p of [...(transposed ? ['dilation'] : []), 'padding_mode', 'device', 'dtype']) {
    const w = get(p);
    if (!w) continue;
    depthwise.push(`${p}=${argText(w)}`);
    dwNotes[depthwise.length - 1] = noteOf(w);
  }
  // `**kwargs` of kernel size, stride, padding... (depthwise) or device and dtype (both)
  if (layer.splat !== undefined) depthwise.push(`**${layer.splat}`);

  // pointwise: in*m, out, 1, then groups (grouped source), bias, device, dtype as written
  const pwParams: [string, string][] = [
    ['in_channels', mid],
    ['out_channels', cout],
    ['kernel_size', '1'],
  ];
  const pointwise = pwParams.map(([name, value], i) => (i < positionalCount && !bound.has(name) ? value : `${name}=${value}`));
  const pwNotes: Note[] = [undefined, noteOf(get('out_channels')), undefined];
  for (const [p, identity] of [
    ['stride', '1'],
    ['padding', '0'],
    ['dilation', '1'],
  ]) {
    if (!bound.has(p)) continue;
    pointwise.push(`${p}=${identity}`);
    pwNotes.push(undefined);
  }
  // kept unless it is a literal 1: `groups=groups` in a helper is 1 by default but not for every caller
  const groups = get('groups');
  if (groups && argText(groups).trim() !== '1') {
    pointwise.push(`groups=${argText(groups)}`);
    pwNotes.push(noteOf(groups));
  }
  for (const p of ['bias', 'device', 'dtype']) {
    const w = get(p);
    if (!w) continue;
    pointwise.push(`${p}=${argText(w)}`);
    pwNotes.push(noteOf(w));
  }
  if (layer.splat !== undefined && layer.splatTo === 'both') {
    pointwise.push(`**${layer.splat}`);
    pwNotes.push(undefined);
  }
  // comments of arguments the new calls do not write (`groups=1`) go above the Sequential's layers
  const prelude = [
    ...layer.comments,
    ...layer.written
      .filter((w) => w.comments && !placed.has(w))
      .flatMap((w) => [...w.comments!.before, ...(w.comments!.after ? [w.comments!.after] : [])]),
  ];

  const indent = indentAt(text, layer.span.start);
  const inner = indent + layout.indentUnit;
  // + 1: the comma that follows a layer of the Sequential
  const innerCall = (callee: string, args: string[], notes: Note[]) =>
    formatCall(callee, args, { startColumn: inner.length + 1, indent: inner, layout, hug: true, notes });
  const items = [innerCall(conv, depthwise, dwNotes)];
  if (opts.norm !== 'none') items.push(`${nameOf(`BatchNorm${dims}d`)}(${mid})`);
  if (opts.norm === 'bn-relu') items.push(`${nameOf('ReLU')}(inplace=True)`);
  items.push(innerCall(pointwiseConv, pointwise, pwNotes));
  // a subclass's pair is what its `super().__init__` (now nn.Sequential's) is given
  const outer = layer.subclass ? text.slice(layer.calleeSpan.start, layer.calleeSpan.end) : nameOf('Sequential');
  const pairLine = `${outer}(${[conv + '(' + depthwise.join(', ') + ')', ...items.slice(1, -1), pointwiseConv + '(' + pointwise.join(', ') + ')'].join(', ')})`;
  // a guarded rewrite: the pair where the condition holds, the call as written elsewhere
  const original = text.slice(layer.span.start, layer.span.end);
  const guard = layer.guard?.condition;
  const oneLine = guard ? `${pairLine} if ${guard} else ${original}` : pairLine;
  // inside an f-string a line break is legal only from Python 3.12 on (and comments not at all)
  if (layer.inFString) return oneLine;
  const startColumn = columnOf(text, layer.span.start);
  const rest = text.slice(layer.span.end, text.indexOf('\n', layer.span.end) < 0 ? text.length : text.indexOf('\n', layer.span.end));
  if (
    !prelude.length &&
    !placed.size &&
    !oneLine.includes('\n') &&
    startColumn + oneLine.length + rest.trimEnd().length <= layout.lineLength
  )
    return oneLine;
  if (!guard) return formatCall(outer, items, { startColumn, indent, layout, prelude, forceMultiline: true });
  // black's layout of a long conditional expression: in parentheses, one part per line
  const pairAt = (column: number, at: string) => {
    const fits = !prelude.length && !placed.size && !pairLine.includes('\n') && column + pairLine.length <= layout.lineLength;
    return fits
      ? pairLine
      : formatCall(
          nameOf('Sequential'),
          items.map((x) => x.split('\n').join('\n' + layout.indentUnit)),
          { startColumn: column, indent: at, layout, prelude, forceMultiline: true },
        );
  };
  const shifted = original.split('\n').join('\n' + layout.indentUnit);
  return ['(', inner + pairAt(inner.length, inner), `${inner}if ${guard}`, `${inner}else ${shifted}`, `${indent})`].join(layout.eol);
}
