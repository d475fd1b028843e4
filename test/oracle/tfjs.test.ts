/**
 * The TensorFlow.js oracle: every fixture in test/fixtures/tfjs whose case.json names a build
 * expression (`"oracle": {"build": "createModel()"}`) is built in real tfjs (`@tensorflow/tfjs`, pure
 * JS, in this process), before and after the rewrite in both styles. The TypeScript is transpiled with
 * esbuild and run with `new Function`, `require` answering only the tfjs packages.
 *
 * Every layer call is tagged in the source, so each layer object tfjs creates is paired with the
 * tool's instance of the same call. Checked exactly, wherever the tool gives a number:
 * - per layer: `layer.countParams()` = the tool's parameters; output shape = the tool's shape;
 * - per conv: the report's params and MACs (MACs = kernel weights × output positions, measured on
 *   the built layers) before, and after the rewrite summed over the layers that replace it;
 * - per model: `model.countParams()` = the tool's prediction, before and after; output shapes equal,
 *   also through `model.predict` on zeros.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { analyzeText } from '../../src/analysis/analyze';
import type { Dim } from '../../src/analysis/tfjs/values';
import type { TfjsAnalysis, TfjsLayer } from '../../src/analysis/tfjs/analyze';
import { initParsing, languageForPath, type LanguageId } from '../../src/analysis/parsing';
import type { AnalysisOptions, TfjsStyle } from '../../src/analysis/options';
import { parseArgs } from '../../src/cli/args';
import { applyEdits, type TextEdit } from '../../src/refactor/edits';
import { rewrite } from '../../src/refactor/index';
import { ROOT } from '../helpers';
import { fixtureRequire, kernelMacs, LOADERS, tf, type AnyLayer } from './tfjs-runtime';
import { holdFloor, type Figures } from './floor';

const CASES = path.join(ROOT, 'test', 'fixtures', 'tfjs');
/** how many fixtures are built in tfjs: a fixture added (or one that stops being built) changes it on purpose */
const BUILT_FIXTURES = 36;

interface CaseFile {
  args?: string[];
  /** `build`: the expression that returns the model; `assume`: symbol values for a model built with arguments */
  oracle?: { build: string; assume?: Record<string, number>; noPredict?: string } | { skip: string };
}

interface BuiltLayer {
  site: number;
  params: number | undefined;
  output: (number | null)[] | undefined;
  /** kernel weights x output positions, for conv-like layers */
  macs: number | undefined;
}

interface Built {
  params: number;
  outputs: (number | null)[][];
  predicted: number[][] | undefined;
  /** per site, the layer objects in creation order */
  sites: Map<number, BuiltLayer[]>;
  /** the model tag the returned model carries */
  model: number | undefined;
}

/** Wraps every layer call and every model call of the analysis in a tagging function. */
function tagged(text: string, a: TfjsAnalysis): string {
  const edits: TextEdit[] = [];
  for (const s of a.sites) {
    edits.push(
      { start: s.span.start, end: s.span.start, newText: '__sepconvLayer(' },
      { start: s.span.end, end: s.span.end, newText: `, ${s.index})` },
    );
  }
  a.graphs.forEach((m, j) => {
    edits.push(
      { start: m.span.start, end: m.span.start, newText: '__sepconvModel(' },
      { start: m.span.end, end: m.span.end, newText: `, ${j})` },
    );
  });
  return applyEdits(text, edits);
}

/** Models up to this many conv MACs also run `predict` on zeros (pure-JS tfjs is slow; keep the suite fast). */
const PREDICT_MAX_MACS = Number(process.env.SEPCONV_PREDICT_MAX_MACS ?? 5_000_000);

async function build(
  text: string,
  id: LanguageId,
  a: TfjsAnalysis,
  expr: string,
  runPredict: 'always' | 'small' | 'never',
): Promise<Built> {
  const { code } = await esbuild.transform(tagged(text, a), { loader: LOADERS[id], format: 'cjs', target: 'node20' });
  const created: AnyLayer[] = [];
  const models = new Map<unknown, number>();
  const tagLayer = (layer: AnyLayer, site: number) => {
    layer.__site = site;
    created.push(layer);
    return layer;
  };
  const tagModel = (model: unknown, j: number) => {
    models.set(model, j);
    return model;
  };
  const mod = { exports: {} };
  // the fixtures are this repository's own files, run in this process on purpose: tfjs objects must not cross realms
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const run = new Function('require', 'module', 'exports', '__sepconvLayer', '__sepconvModel', `${code}\nreturn (${expr});`) as (
    ...args: unknown[]
  ) => unknown;
  const model = (await Promise.resolve(
    run(fixtureRequire, mod, mod.exports, tagLayer, tagModel),
  )) as import('@tensorflow/tfjs').LayersModel;
  const sites = new Map<number, BuiltLayer[]>();
  for (const l of created) {
    const list = sites.get(l.__site!) ?? [];
    list.push({
      site: l.__site!,
      params: l.built ? l.countParams() : undefined,
      output: l.built ? (l.outputShape as (number | null)[]) : undefined,
      macs: kernelMacs(l),
    });
    sites.set(l.__site!, list);
  }
  const outputs = model.outputs.map((o) => o.shape);
  let predicted: number[][] | undefined;
  const inputs = model.inputs.map((i) => i.shape);
  const macs = [...sites.values()].flat().reduce((sum, l) => sum + (Number.isFinite(l.macs) ? l.macs! : 0), 0);
  if (
    (runPredict === 'always' || (runPredict === 'small' && macs <= PREDICT_MAX_MACS)) &&
    inputs.every((s) => s.slice(1).every((d) => d !== null))
  ) {
    const y = tf.tidy(() => {
      const xs = inputs.map((s) => tf.zeros([1, ...(s.slice(1) as number[])]));
      const out = model.predict(xs.length === 1 ? xs[0] : xs);
      return (Array.isArray(out) ? out : [out]).map((t) => t.shape);
    });
    predicted = y;
  }
  const result: Built = { params: model.countParams(), outputs, predicted, sites, model: models.get(model) };
  tf.disposeVariables();
  return result;
}

/** The tool's shape against tfjs's (batch first): a dimension tfjs leaves open (null) is one the tool assumed. */
const dimsEqual = (tool: Dim[] | undefined, runtime: (number | null)[] | undefined): boolean | undefined => {
  if (!tool || !runtime) return undefined;
  const r = runtime.slice(1);
  if (tool.length !== r.length) return false;
  let unknown = false;
  for (let i = 0; i < r.length; i++) {
    const c = tool[i]?.constant;
    if (c === undefined) unknown = true;
    else if (r[i] !== null && c !== r[i]) return false;
  }
  return unknown ? undefined : true;
};

interface Tally {
  models: number;
  builds: number;
  instances: number;
  exact: number;
  unknown: number;
  convs: number;
  convExact: number;
  /** per style: converted convs whose replacing layers were found, and those with exact params and MACs */
  converted: Record<TfjsStyle, number>;
  convertedExact: Record<TfjsStyle, number>;
  /** rewritten models also run on zeros */
  predicted: number;
}

/** Where the text of `span` went after `edits`: the mapped span, widened to any edit that covers part of it. */
function mappedRegion(edits: readonly TextEdit[], start: number, end: number): [number, number] {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  const map = (o: number) => sorted.filter((e) => e.end <= o).reduce((acc, e) => acc + e.newText.length - (e.end - e.start), o);
  let s = map(start);
  let t = map(end);
  for (const e of sorted) {
    if (e.end <= start || e.start >= end) continue;
    const ns = map(e.start);
    s = Math.min(s, ns);
    t = Math.max(t, ns + e.newText.length);
  }
  return [s, t];
}

void test('TensorFlow.js oracle', async (t) => {
  await initParsing();
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  // browser code uses a global `tf` from a script tag
  (globalThis as { tf?: unknown }).tf = tf;
  const tally: Tally = {
    models: 0,
    builds: 0,
    instances: 0,
    exact: 0,
    unknown: 0,
    convs: 0,
    convExact: 0,
    converted: { separable: 0, split: 0 },
    convertedExact: { separable: 0, split: 0 },
    predicted: 0,
  };
  const skipped: string[] = [];
  /** per fixture: the tool's numbers tfjs confirmed (layers, conv reports, the model, converted convs) and those it left unknown */
  const floors: Record<string, Figures> = {};
  const all = fs.readdirSync(CASES).sort();
  let caseCount = 0;
  for (const name of all) {
    const dir = path.join(CASES, name);
    const input = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.startsWith('input.')) : undefined;
    const caseFile = path.join(dir, 'case.json');
    if (!input || !fs.existsSync(caseFile)) continue;
    caseCount++;
    const spec = JSON.parse(fs.readFileSync(caseFile, 'utf8')) as CaseFile;
    if (!spec.oracle || 'skip' in spec.oracle) {
      skipped.push(`${name} (${spec.oracle && 'skip' in spec.oracle ? spec.oracle.skip : 'no build expression'})`);
      continue;
    }
    const expr = spec.oracle.build;
    const assume = spec.oracle.assume ?? {};
    const noPredict = spec.oracle.noPredict;
    const id = languageForPath(input)!;
    const source = fs.readFileSync(path.join(dir, input), 'utf8');
    const cli = parseArgs(['report', input, ...(spec.args ?? [])]);
    const fig: Figures = { exact: 0, unknown: 0 };
    floors[name] = fig;
    await t.test(name, async () => {
      tally.models++;
      const options: AnalysisOptions = { ...cli.analysis, assumptions: { ...cli.analysis.assumptions, ...assume } };
      const original = analyzeText(source, id, options) as TfjsAnalysis;
      assert.equal(original.framework, 'tfjs');
      const before = await build(source, id, original, expr, noPredict ? 'never' : 'small');
      tally.builds++;
      const model = before.model !== undefined ? original.graphs[before.model] : undefined;
      assert.ok(model, `${name}: the returned model is not one the tool found`);
      if (model.params?.constant !== undefined) {
        assert.equal(model.params.constant, before.params, `${name}: model.countParams()`);
        fig.exact++;
      } else fig.unknown++;
      const outCheck = dimsEqual(model.output, before.outputs[0]);
      assert.notEqual(
        outCheck,
        false,
        `${name}: model output ${JSON.stringify(before.outputs[0])} vs the tool's ${JSON.stringify(model.output?.map((d) => d?.toString()))}`,
      );
      if (before.predicted) assert.deepEqual(before.predicted[0].slice(1), before.outputs[0].slice(1), `${name}: predict output shape`);

      // every layer object against the tool's instance of the same call, in creation order
      for (const [site, layers] of before.sites) {
        const tool = original.instances.filter((i) => i.site === site);
        assert.equal(
          tool.length,
          layers.length,
          `${name}: site ${site} (${original.sites[site].op}, line ${original.sites[site].line}) created ${layers.length} layers, the tool found ${tool.length} instances`,
        );
        layers.forEach((l, k) => {
          const where = `${name}: ${original.sites[site].op} at line ${original.sites[site].line}, instance ${k + 1}`;
          const info = tool[k];
          if (l.params === undefined) return; // created but never built by tfjs
          tally.instances++;
          if (info.params?.constant === undefined) {
            tally.unknown++;
            fig.unknown++;
            return;
          }
          assert.equal(info.params.constant, l.params, `${where}: params`);
          assert.notEqual(
            dimsEqual(info.output, l.output),
            false,
            `${where}: output shape ${JSON.stringify(l.output)} vs ${JSON.stringify(info.output?.map((d) => d?.toString()))}`,
          );
          tally.exact++;
          fig.exact++;
        });
      }
      // the report's conv layers: params and MACs as measured on the built layers
      const convs = original.layers.filter((l) => before.sites.get(l.site));
      for (const l of convs) {
        const k = original.instances.filter((i) => i.site === l.site).indexOf(original.instances[l.instance]);
        const built = before.sites.get(l.site)![k];
        if (!built || built.params === undefined) continue;
        tally.convs++;
        const p = l.cost.params.before?.constant;
        const m = l.cost.macs.before?.constant;
        if (p === undefined || m === undefined) {
          fig.unknown++;
          continue;
        }
        assert.equal(p, built.params, `${name}: report params of ${l.op} at line ${original.sites[l.site].line}`);
        // tfjs counts no MACs where the model leaves the input size open: the tool then prices the size it says it assumed
        if (Number.isFinite(built.macs))
          assert.equal(m, built.macs, `${name}: report MACs of ${l.op} at line ${original.sites[l.site].line}`);
        else
          assert.ok(
            l.assumptions.some((x) => x.includes('the model leaves it open')),
            `${name}: tfjs gave no MACs for ${l.op} at line ${original.sites[l.site].line}, and the tool states no assumed input size`,
          );
        tally.convExact++;
        fig.exact++;
      }

      for (const style of ['separable', 'split'] as TfjsStyle[]) {
        const styled = analyzeText(source, id, { ...options, tfjsStyle: style }) as TfjsAnalysis;
        const result = rewrite(source, id, styled, () => true, {
          depthMultiplier: options.depthMultiplier,
          norm: 'none',
          lineLength: cli.lineLength,
          minSavings: cli.minSavings,
        });
        assert.equal(result.error, undefined, `${name} (${style}): ${result.error}`);
        const again = analyzeText(result.newText, id, options) as TfjsAnalysis;
        const after = await build(result.newText, id, again, expr, before.predicted ? 'always' : 'never');
        tally.builds++;
        assert.deepEqual(after.outputs, before.outputs, `${name} (${style}): output shapes changed`);
        if (before.predicted) {
          if (style === 'separable') tally.predicted++;
          assert.deepEqual(after.predicted, before.predicted, `${name} (${style}): predict output shapes changed`);
        }
        // the prediction for what was converted (with --min-savings, not everything convertible is)
        const converted = new Set(result.converted as TfjsLayer[]);
        const convertedInstances = new Set(styled.layers.filter((x) => converted.has(x)).map((x) => x.instance));
        const styledModel = styled.graphs[before.model!];
        const predicted = styledModel.params
          ? styledModel.layers.reduce<number | undefined>((sum, i) => {
              const info = styled.instances[i];
              const p = (convertedInstances.has(i) ? info.paramsAfter : info.params)?.constant;
              return sum === undefined || p === undefined ? undefined : sum + p;
            }, 0)
          : undefined;
        if (predicted !== undefined) {
          assert.equal(after.params, predicted, `${name} (${style}): model.countParams() after the rewrite vs the prediction`);
          fig.exact++;
        } else fig.unknown++;
        const againModel = after.model !== undefined ? again.graphs[after.model] : undefined;
        if (againModel?.params?.constant !== undefined)
          assert.equal(againModel.params.constant, after.params, `${name} (${style}): the rewritten model priced by the tool`);
        // each converted conv: the layers that replace it give exactly the predicted params and MACs
        for (const l of styled.layers.filter((x) => converted.has(x))) {
          const site = styled.sites[l.site];
          const [s, e] = mappedRegion(result.edits, site.span.start, site.span.end);
          const parts = again.sites.filter((x) => x.span.start >= s && x.span.end <= e).map((x) => x.index);
          const k = styled.instances.filter((i) => i.site === l.site).indexOf(styled.instances[l.instance]);
          const built = parts.map((p) => after.sites.get(p)?.[k]).filter((b): b is BuiltLayer => b !== undefined && b.params !== undefined);
          // a conv instance tfjs built before the rewrite is replaced by layers tfjs builds after it
          const wasBuilt = before.sites.get(l.site)?.[k]?.params !== undefined;
          if (!wasBuilt && built.length === 0) continue;
          assert.ok(
            built.length > 0,
            `${name} (${style}): the layers replacing ${l.op} at line ${site.line} were not found in the rewritten model`,
          );
          tally.converted[style]++;
          assert.equal(
            built.length,
            style === 'split' && l.style === 'split' ? 2 : 1,
            `${name} (${style}): ${l.op} at line ${site.line} became ${built.length} layers`,
          );
          const pa = l.cost.params.after?.constant;
          const ma = l.cost.macs.after?.constant;
          if (pa === undefined || ma === undefined) {
            fig.unknown++;
            continue;
          }
          assert.equal(
            built.reduce((sum, b) => sum + b.params!, 0),
            pa,
            `${name} (${style}): params after of the conv at line ${site.line}`,
          );
          if (built.every((b) => Number.isFinite(b.macs)))
            assert.equal(
              built.reduce((sum, b) => sum + b.macs!, 0),
              ma,
              `${name} (${style}): MACs after of the conv at line ${site.line}`,
            );
          else
            assert.ok(
              l.assumptions.some((x) => x.includes('the model leaves it open')),
              `${name} (${style}): tfjs gave no MACs for the layers replacing line ${site.line}, and the tool states no assumed input size`,
            );
          tally.convertedExact[style]++;
          fig.exact++;
        }
        // the rewrite is final: applying again changes nothing
        const twice = rewrite(result.newText, id, analyzeText(result.newText, id, { ...options, tfjsStyle: style }), () => true, {
          depthMultiplier: options.depthMultiplier,
          norm: 'none',
          lineLength: cli.lineLength,
          minSavings: cli.minSavings,
        });
        assert.equal(twice.newText, result.newText, `${name} (${style}): a second rewrite changed the file`);
      }
    });
  }
  await t.test('summary', () => {
    console.log(
      `tfjs oracle: ${tally.models} models, each built 3 times (original, separable, split); ${tally.instances} layer instances, ` +
        `${tally.exact} matched tfjs exactly (params and output shape), ${tally.unknown} left unknown by the tool (documented); ` +
        `${tally.convs} conv layers, ${tally.convExact} with params and MACs exact; converted convs exact after the rewrite: ` +
        `separable ${tally.convertedExact.separable}/${tally.converted.separable}, split ${tally.convertedExact.split}/${tally.converted.split}; ` +
        `${tally.predicted} models also run predict() before and after` +
        (skipped.length ? `; not built: ${skipped.join(', ')}` : ''),
    );
    // every fixture is built, or says why not in its case.json
    const unexplained = skipped.filter((x) => x.endsWith('(no build expression)'));
    assert.deepEqual(unexplained, [], 'fixtures neither built nor given a reason (case.json "oracle": {"skip": "why"})');
    assert.equal(
      tally.models + skipped.length,
      caseCount,
      'every fixture with an input file and a case.json is built or skipped with its reason',
    );
    assert.equal(tally.models, BUILT_FIXTURES, `fixtures built in tfjs (skipped: ${skipped.join('; ')})`);
    const failures = holdFloor('tfjs', floors);
    assert.deepEqual(failures, [], 'the tfjs oracle holds its floor');
  });
});
