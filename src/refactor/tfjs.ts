/**
 * TensorFlow.js rewrite, two styles.
 *
 * separable (default): the call becomes `separableConv2d`, every key that means the same is kept,
 * `depthMultiplier` is added and `kernelInitializer`/`kernelRegularizer`/`kernelConstraint` are
 * mapped onto the depthwise/pointwise pair (passed through, separableConv2d throws):
 *
 *   tf.layers.conv2d({filters: 64, kernelSize: 3, kernelInitializer: 'heNormal'})
 * becomes
 *   tf.layers.separableConv2d({filters: 64, kernelSize: 3, depthMultiplier: 1, depthwiseInitializer: 'heNormal', pointwiseInitializer: 'heNormal'})
 *
 * split: a depthwiseConv2d (spatial keys, `useBias: false`) followed by a 1x1 conv2d (filters,
 * activation, bias, initializers), spliced into the layers array, the `model.add` sequence or the
 * `.apply` chain:
 *
 *   model.add(tf.layers.conv2d({filters: 64, kernelSize: 3, activation: 'relu'}));
 * becomes
 *   model.add(tf.layers.depthwiseConv2d({kernelSize: 3, depthMultiplier: 1, useBias: false}));
 *   model.add(tf.layers.conv2d({filters: 64, kernelSize: 1, activation: 'relu'}));
 *
 * Only the edited calls change; quotes, semicolons, trailing commas and indentation follow the file.
 */
import { KERNEL_KEYS, type TfjsAnalysis, type TfjsLayer, type TfjsSite } from '../analysis/tfjs/analyze';
import { savings } from '../analysis/cost';
import type { PatternSite } from '../analysis/tfjs/imports';
import type { TextEdit } from './edits';
import type { ConfigEntry, ConfigSite } from './tfjsSyntax';

export interface TfjsRewriteOptions {
  depthMultiplier: number;
  /** the savings threshold the caller applied to the layers it chose (the other instances of a call must meet it too) */
  minSavings?: number;
  /** a config that no longer fits on its line is laid out one key per line */
  lineLength: number;
}

/** How the file lays out JavaScript: indentation step, trailing commas in multi-line literals. */
interface JsLayout {
  eol: string;
  indentUnit: string;
  trailingComma: boolean;
  lineLength: number;
}

function jsLayout(text: string, lineLength: number): JsLayout {
  const lines = text.split(/\r?\n/);
  const steps = new Map<string, number>();
  let prev = '';
  let withComma = 0;
  let without = 0;
  lines.forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('*') || t.startsWith('//') || t.startsWith('/*')) return;
    const indent = /^[ \t]*/.exec(line)![0];
    if (indent.length > prev.length && indent.startsWith(prev))
      steps.set(indent.slice(prev.length), (steps.get(indent.slice(prev.length)) ?? 0) + 1);
    prev = indent;
    // the close of a multi-line literal (`}),`, `}));`, `]`), not of a block (`}` alone)
    if (/^([}\]][)\],;]|\]$)/.test(t) && i > 0) {
      const before = lines[i - 1].replace(/\s*\/\/.*$/, '').trimEnd();
      if (before.endsWith(',')) withComma++;
      else if (before && !/[[{(]$/.test(before)) without++;
    }
  });
  const indentUnit = [...steps.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '  ';
  // a file whose code runs wider than the limit has its own: its longest code line
  const widest = lines.reduce((w, l) => (/^\s*(\/\/|\/\*|\*)/.test(l) ? w : Math.max(w, l.length)), 0);
  return { eol: eolOf(text), indentUnit, trailingComma: withComma >= without, lineLength: Math.max(lineLength, widest) };
}

/** A `{...}` with `entries`: on one line (as `like` pads it) when it fits after `prefix`, else one entry per line. */
function renderObject(entries: string[], prefix: string, suffix: string, indent: string, layout: JsLayout, pad: string): string {
  const one = `{${pad}${entries.join(', ')}${pad}}`;
  if (prefix.length + one.length + suffix.length <= layout.lineLength || entries.length === 0) return one;
  const inner = indent + layout.indentUnit;
  return `{${layout.eol}${entries.map((e, i) => `${inner}${e}${i < entries.length - 1 || layout.trailingComma ? ',' : ''}`).join(layout.eol)}${layout.eol}${indent}}`;
}

/** Text of the line around `start..end` outside it: what stands before and after on the same line. */
function lineAround(text: string, start: number, end: number): { before: string; after: string; indent: string } {
  const ls = text.lastIndexOf('\n', start - 1) + 1;
  let le = text.indexOf('\n', end);
  if (le < 0) le = text.length;
  const before = text.slice(ls, start);
  return { before, after: text.slice(end, le).replace(/\r$/, ''), indent: /^[ \t]*/.exec(before)![0] };
}

export interface TfjsPlan {
  edits: TextEdit[];
  converted: TfjsLayer[];
  skipped: { layer: TfjsLayer; reason: string }[];
}

/** Keys of a conv2d config that go to the depthwise layer of the split style. */
const DEPTHWISE_KEYS = new Set([
  'kernelSize',
  'strides',
  'padding',
  'dataFormat',
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'inputDType',
  'trainable',
]);
/** Keys that go to the 1x1 pointwise conv2d. */
const POINTWISE_KEYS = new Set([
  'filters',
  'dataFormat',
  'activation',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
  'kernelRegularizer',
  'biasRegularizer',
  'activityRegularizer',
  'kernelConstraint',
  'biasConstraint',
  'trainable',
  'dtype',
  'name',
]);

/** Why a layer is below the parameter-savings threshold, if it is. */
function lowSavings(layer: TfjsLayer, minSavings: number): string | undefined {
  if (minSavings <= 0) return undefined;
  const s = savings(layer.cost.params.before, layer.cost.params.after);
  if (s === undefined) return 'its savings are not known';
  return s < minSavings ? `saves ${(s * 100).toFixed(1)}% of parameters, below the ${(minSavings * 100).toFixed(1)}% threshold` : undefined;
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** `key` as the config writes its keys (`kernelSize` or `'kernelSize'`). */
function keyText(config: ConfigSite, key: string): string {
  return config.kind === 'literal' && config.keyQuote ? `${config.keyQuote}${key}${config.keyQuote}` : key;
}

class Names {
  private readonly used: Set<string>;
  constructor(names: Set<string>) {
    this.used = new Set(names);
  }

  /** `conv1` -> `conv1_dw` (or `conv1_dw2`, ... when taken). */
  derive(base: string, suffix: string): string {
    let n = `${base}${suffix}`;
    for (let i = 2; this.used.has(n); i++) n = `${base}${suffix}${i}`;
    this.used.add(n);
    return n;
  }
}

/** Local names for tfjs ops used bare (`separableConv2d(...)` after `const {conv2d} = tf.layers`). */
class BareNames {
  /** pattern start -> names to add */
  readonly additions = new Map<number, { pattern: PatternSite; names: Set<string> }>();
  constructor(
    private readonly analysis: TfjsAnalysis,
    private readonly text: string,
  ) {}

  /** The local name for `layers.<op>`, or why there is none. */
  nameFor(op: string, site: TfjsSite): { name?: string; why?: string } {
    for (const [local, b] of this.analysis.imports.bindings) if (b.path === `layers.${op}`) return { name: local };
    const own = this.analysis.imports.bindings.get(site.callee);
    if (!own?.pattern) return { why: `\`${site.callee}\` is not bound by a destructuring of tf.layers the rewrite could add \`${op}\` to` };
    if (new RegExp(`\\b${op}\\b`).test(this.text)) return { why: `the name \`${op}\` is already used in this file for something else` };
    const entry = this.additions.get(own.pattern.span.start) ?? { pattern: own.pattern, names: new Set<string>() };
    entry.names.add(op);
    this.additions.set(own.pattern.span.start, entry);
    return { name: op };
  }

  edits(eol: string): TextEdit[] {
    return [...this.additions.values()].map(({ pattern, names }) => {
      const list = [...names].sort();
      if (pattern.multiline) {
        const items = list.map((n) => `${eol}${pattern.indent}${n}`).join(',');
        return { start: pattern.lastEnd, end: pattern.lastEnd, newText: `,${items}` };
      }
      return { start: pattern.lastEnd, end: pattern.lastEnd, newText: list.map((n) => `, ${n}`).join('') };
    });
  }
}

export function planTfjsRewrite(text: string, analysis: TfjsAnalysis, selected: readonly TfjsLayer[], opts: TfjsRewriteOptions): TfjsPlan {
  const plan: TfjsPlan = { edits: [], converted: [], skipped: [] };
  const layout = jsLayout(text, opts.lineLength);
  const eol = layout.eol;
  const names = new Names(analysis.names);
  const bare = new BareNames(analysis, text);
  const chosen = new Set(selected.filter((l) => l.convertible));
  for (const l of selected) if (!l.convertible) plan.skipped.push({ layer: l, reason: l.reason ?? 'not convertible' });
  const bySite = new Map<number, TfjsLayer[]>();
  for (const l of analysis.layers) bySite.set(l.site, [...(bySite.get(l.site) ?? []), l]);
  for (const [s, all] of bySite) {
    const mine = all.filter((l) => chosen.has(l));
    if (mine.length === 0) continue;
    // one call, several layers (a helper called for each block): rewritten for all of them or none;
    // choosing one of them (an editor's code action) chooses the call
    const other = all.find((l) => !chosen.has(l) && (!l.convertible || lowSavings(l, opts.minSavings ?? 0)));
    if (other) {
      const n = all.indexOf(other) + 1;
      const why = other.convertible ? lowSavings(other, opts.minSavings ?? 0)! : other.reason;
      for (const l of mine)
        plan.skipped.push({
          layer: l,
          reason: `instance ${n} of this call is not converted (${why}), and the call is rewritten for all of them or none`,
        });
      continue;
    }
    const site = analysis.sites[s];
    const style = all[0].style;
    const result = style === 'split' ? splitEdits(text, site, opts, names, bare, layout) : separableEdits(text, site, opts, bare, layout);
    if (result.why) {
      for (const l of mine) plan.skipped.push({ layer: l, reason: result.why });
      continue;
    }
    plan.edits.push(...result.edits!);
    plan.converted.push(...mine);
  }
  plan.edits.push(...bare.edits(eol));
  return plan;
}

interface SiteEdits {
  edits?: TextEdit[];
  why?: string;
}

/** The callee for another op, written like the original (`tf.layers.` prefix, or a bare name). */
function calleeFor(text: string, site: TfjsSite, op: string, bare: BareNames): { callee?: string; why?: string } {
  if (op === site.op) return { callee: text.slice(site.calleeSpan.start, site.calleeSpan.end) };
  if (!site.bare) return { callee: text.slice(site.calleeSpan.start, site.nameSpan.start) + op };
  const n = bare.nameFor(op, site);
  return n.name ? { callee: n.name } : { why: n.why };
}

/** Insertions of new entries after existing ones in an object literal, in the file's layout. */
function insertAfter(config: ConfigSite & { kind: 'literal' }, entry: ConfigEntry, items: string[], eol: string): TextEdit[] {
  const lineMode = config.multiline && entry.lineEnd !== undefined;
  if (!lineMode) {
    return [{ start: entry.node.end, end: entry.node.end, newText: items.map((i) => `, ${i}`).join('') }];
  }
  const indent = config.entryIndent;
  const lines = items.map((i) => `${eol}${indent}${i}`);
  if (entry.commaAfter) return [{ start: entry.lineEnd!, end: entry.lineEnd!, newText: lines.map((l) => `${l},`).join('') }];
  // the entry was last without a trailing comma: a comma after it, the new entries without one at the end
  const edits: TextEdit[] = [{ start: entry.node.end, end: entry.node.end, newText: ',' }];
  const body = lines.join(',');
  if (entry.lineEnd === entry.node.end) edits[0].newText += body;
  else edits.push({ start: entry.lineEnd!, end: entry.lineEnd!, newText: body });
  return edits;
}

function separableEdits(text: string, site: TfjsSite, opts: TfjsRewriteOptions, bare: BareNames, layout: JsLayout): SiteEdits {
  const callee = calleeFor(text, site, 'separableConv2d', bare);
  if (!callee.callee) return { why: callee.why };
  const edits: TextEdit[] = [];
  const calleeEdit = site.bare
    ? { start: site.calleeSpan.start, end: site.calleeSpan.end, newText: callee.callee }
    : { start: site.nameSpan.start, end: site.nameSpan.end, newText: 'separableConv2d' };
  edits.push(calleeEdit);
  const m = `${keyText(site.config, 'depthMultiplier')}: ${opts.depthMultiplier}`;
  const config = site.config;
  const growth = calleeEdit.newText.length - (calleeEdit.end - calleeEdit.start);
  if (config.kind === 'expression') {
    edits.push({ start: config.span.start, end: config.span.end, newText: `{...${config.text}, ${m}}` });
    return { edits };
  }
  if (config.kind !== 'literal' || config.entries.length === 0) return { why: 'the config is not an object literal the rewrite can edit' };
  const anchor = config.entries.find((e) => e.key === 'kernelSize') ?? config.entries[config.entries.length - 1];
  if (!config.multiline) {
    // one line: rendered whole, one key per line when it no longer fits
    const entries: string[] = [];
    for (const e of config.entries) {
      const mapped = e.key ? KERNEL_KEYS[e.key] : undefined;
      if (mapped && e.value)
        entries.push(`${keyText(config, mapped[0])}: ${e.value.text}`, `${keyText(config, mapped[1])}: ${e.value.text}`);
      else entries.push(text.slice(e.node.start, e.node.end));
      if (e === anchor) entries.push(m);
    }
    const around = lineAround(text, config.span.start, config.span.end);
    const pad = /^\{\s/.test(text.slice(config.span.start, config.span.end)) ? ' ' : '';
    edits.push({
      start: config.span.start,
      end: config.span.end,
      newText: renderObject(entries, ' '.repeat(around.before.length + growth), around.after, around.indent, layout, pad),
    });
    return { edits };
  }
  const after = new Map<ConfigEntry, string[]>();
  const add = (e: ConfigEntry, item: string) => after.set(e, [...(after.get(e) ?? []), item]);
  for (const e of config.entries) {
    const mapped = e.key ? KERNEL_KEYS[e.key] : undefined;
    if (!mapped || !e.keySpan || !e.value) continue;
    const [dw, pw] = mapped;
    if (e.kind === 'shorthand')
      edits.push({ start: e.keySpan.start, end: e.keySpan.end, newText: `${keyText(config, dw)}: ${e.value.text}` });
    else edits.push({ start: e.keySpan.start, end: e.keySpan.end, newText: keyText(config, dw) });
    add(e, `${keyText(config, pw)}: ${e.value.text}`);
  }
  after.set(anchor, [m, ...(after.get(anchor) ?? [])]);
  for (const [e, items] of after) edits.push(...insertAfter(config, e, items, layout.eol));
  return { edits };
}

/** An entry's text with a comment kept where the comma goes: `a: 1 // x` -> `a: 1, // x` is done by the caller. */
function entryText(text: string, e: ConfigEntry): { lead: string; core: string; trail: string } {
  return {
    lead: text.slice(e.span.start, e.node.start),
    core: text.slice(e.node.start, e.node.end),
    trail: text.slice(e.node.end, e.span.end).replace(/^\s*,?/, ''),
  };
}

function splitEdits(text: string, site: TfjsSite, opts: TfjsRewriteOptions, names: Names, bare: BareNames, layout: JsLayout): SiteEdits {
  const eol = layout.eol;
  const config = site.config;
  if (config.kind !== 'literal') return { why: 'the config is not an object literal' };
  const dwCallee = calleeFor(text, site, 'depthwiseConv2d', bare);
  if (!dwCallee.callee) return { why: dwCallee.why };
  const pwCallee = text.slice(site.calleeSpan.start, site.calleeSpan.end);
  const k = (key: string) => keyText(config, key);
  const dw: { lead: string; core: string; trail: string }[] = [];
  const pw: { lead: string; core: string; trail: string }[] = [];
  const plain = (core: string) => ({ lead: '', core, trail: '' });
  for (const e of config.entries) {
    const key = e.key!;
    const t = entryText(text, e);
    if (key === 'kernelSize') {
      dw.push(t);
      pw.push({ ...t, core: e.kind === 'shorthand' ? `${k('kernelSize')}: 1` : `${text.slice(e.node.start, e.keySpan!.end)}: 1` });
      continue;
    }
    if (key === 'name' && e.value) {
      const literal = /^(['"`])([^'"`\\$]*)\1$/.exec(e.value.text);
      const value = literal
        ? `${literal[1]}${names.derive(literal[2], '_dw')}${literal[1]}`
        : `${e.value.text} + ${site.quote}_dw${site.quote}`;
      dw.push({ ...t, core: `${k('name')}: ${value}` });
      pw.push(t);
      continue;
    }
    const mapped = KERNEL_KEYS[key];
    if (mapped) dw.push({ ...t, core: `${k(mapped[0])}: ${e.value!.text}` });
    else if (DEPTHWISE_KEYS.has(key)) dw.push(t);
    if (POINTWISE_KEYS.has(key)) pw.push(t);
  }
  // depthMultiplier and useBias follow the spatial keys, as in `{kernelSize, strides, padding, depthMultiplier, useBias: false}`
  const spatial = dw.reduce((last, item, i) => (/^['"]?(kernelSize|strides|padding)['"]?\s*[:,]?/.test(item.core) ? i : last), 0);
  dw.splice(spatial + 1, 0, plain(`${k('depthMultiplier')}: ${opts.depthMultiplier}`), plain(`${k('useBias')}: false`));
  const around = lineAround(text, site.span.start, site.span.end);
  const pad = /^\{\s/.test(text.slice(config.span.start, config.span.end)) ? ' ' : '';
  /** `callee({...})`; a one-line config stays on one line when `prefix` + it + `suffix` fits */
  const render = (
    callee: string,
    items: { lead: string; core: string; trail: string }[],
    prefix: string,
    suffix: string,
    indent = around.indent,
  ) => {
    if (!config.multiline)
      return `${callee}(${renderObject(
        items.map((i) => i.core),
        `${prefix}${callee}(`,
        `)${suffix}`,
        indent,
        layout,
        pad,
      )})`;
    // comments stay with their entries: leading ones above, a trailing one after the comma
    const lines = items.map((i, n) => {
      const comma = n < items.length - 1 || config.trailingComma ? ',' : '';
      return `${i.lead}${i.core}${comma}${i.trail ? ` ${i.trail.trim()}` : ''}`;
    });
    const closeIndent = /^[ \t]*/.exec(text.slice(text.lastIndexOf('\n', config.span.end - 1) + 1))![0];
    return `${callee}({${eol}${lines.map((l) => config.entryIndent + l).join(eol)}${eol}${closeIndent}})`;
  };
  const p = site.placement;
  switch (p.kind) {
    case 'array': {
      const dwCall = render(dwCallee.callee, dw, around.indent, ',');
      const pwCall = render(pwCallee, pw, around.indent, around.after);
      return {
        edits: [{ start: site.span.start, end: site.span.end, newText: `${dwCall},${p.multiline ? eol + p.indent : ' '}${pwCall}` }],
      };
    }
    case 'add': {
      const semi = p.semicolon ? ';' : '';
      const head = `${p.indent}${p.receiver}.add(`;
      const dwCall = render(dwCallee.callee, dw, head, `)${semi}`);
      const pwCall = render(pwCallee, pw, head, `)${semi}`);
      return {
        edits: [
          {
            start: p.statement.start,
            end: p.statement.end,
            newText: `${p.receiver}.add(${dwCall})${semi}${eol}${p.indent}${p.receiver}.add(${pwCall})${semi}`,
          },
        ],
      };
    }
    case 'apply': {
      const st = p.statement;
      if (st) {
        // `x = conv.apply(x) as T;` -> `x = depthwise.apply(x) as T;` and `x = pointwise.apply(x) as T;`
        const semi = st.semicolon ? ';' : '';
        const beforeCall = text.slice(st.span.start, p.call.start);
        const afterCall = text.slice(p.call.end, st.value.end);
        const rest = text.slice(st.value.end, st.span.end).replace(/;\s*$/, '');
        const dwCall = render(dwCallee.callee, dw, st.indent + beforeCall, `.apply(${p.argsText})${afterCall}${rest}${semi}`);
        const valueHead = `${st.target} = ${text.slice(st.value.start, p.call.start)}`;
        const pwCall = render(pwCallee, pw, st.indent + valueHead, `.apply(${st.target})${afterCall}${semi}`);
        const first = `${beforeCall}${dwCall}.apply(${p.argsText})${afterCall}${rest}${semi}`;
        const second = `${valueHead}${pwCall}.apply(${st.target})${afterCall}${semi}`;
        return { edits: [{ start: st.span.start, end: st.span.end, newText: `${first}${eol}${st.indent}${second}` }] };
      }
      // nested where it stands: `pointwise.apply(depthwise.apply(x))`, the inner call on a line of its own when long
      const pwCall = render(pwCallee, pw, around.before, '.apply(');
      const inner = around.indent + layout.indentUnit;
      const oneLine = `${pwCall}.apply(${render(dwCallee.callee, dw, '', '')}.apply(${p.argsText}))`;
      if (!oneLine.includes('\n') && around.before.length + oneLine.length + around.after.length <= layout.lineLength) {
        return { edits: [{ start: p.call.start, end: p.call.end, newText: oneLine }] };
      }
      const dwCall = render(dwCallee.callee, dw, inner, `.apply(${p.argsText})`, inner);
      return {
        edits: [
          {
            start: p.call.start,
            end: p.call.end,
            newText: `${pwCall}.apply(${eol}${inner}${dwCall}.apply(${p.argsText})${eol}${around.indent})`,
          },
        ],
      };
    }
    default:
      return { why: 'the layer is not in a layers array, a model.add(...) or an .apply(...) chain' };
  }
}
