/** The TensorFlow.js interpreter's tfjs calls: layers made, applied and built (OPS of layers.ts), models and `model.add`. */
import type { Node } from 'web-tree-sitter';
import type { TfjsInterpreter } from './evaluate';
import { configOf, declaredInput, OPS } from './layers';
import { type Entry } from './scope';
import { line } from './syntax';
import { asPoly, UNDEFINED, unknown, whyNot, type Instance, type ModelState, type ShapeOrWhy, type Value } from './values';

export function callTfjs(ti: TfjsInterpreter, path: string, args: Entry[], node: Node, notes: string[]): Value {
  const a = args[0]?.value;
  if (path.startsWith('layers.') && path.split('.').length === 2) {
    const op = path.slice(7);
    const inst: Instance = {
      id: ti.instances.length,
      site: ti.host.siteOf(node),
      op,
      config: a ?? UNDEFINED,
      notes,
      built: false,
    };
    ti.instances.push(inst);
    return { kind: 'layer', inst };
  }
  switch (path) {
    case 'sequential': {
      const model: ModelState = { kind: 'sequential', call: node, layers: [], output: undefined };
      ti.models.push(model);
      const layers = a?.kind === 'object' ? a.props.get('layers') : undefined;
      if (layers?.kind === 'array') {
        for (const item of layers.items) addToModel(ti, model, item, node);
        if (layers.open) {
          model.uncertain ??= layers.open;
          model.output = {
            shape: { why: `channels unknown: the layers array is not fully known (${layers.open})` },
            history: model.output?.history ?? [],
          };
        }
      } else if (layers && layers.kind !== 'undefined') {
        model.uncertain = `its layers are not known (${whyNot(layers, 'layers')})`;
        model.output = { shape: { why: `channels unknown: the layers of the model at line ${line(node)} are not known` }, history: [] };
      }
      return { kind: 'model', model };
    }
    case 'model': {
      const outputs = a?.kind === 'object' ? a.props.get('outputs') : undefined;
      const inputs = a?.kind === 'object' ? a.props.get('inputs') : undefined;
      const outs = outputs?.kind === 'array' ? outputs.items : outputs ? [outputs] : [];
      const ins = inputs?.kind === 'array' ? inputs.items : inputs ? [inputs] : [];
      const tensors = outs.filter((o): o is Value & { kind: 'tensor' } => o.kind === 'tensor');
      const history = [...new Set(tensors.flatMap((t) => t.tensor.history))];
      const model: ModelState = {
        kind: 'functional',
        call: node,
        layers: history,
        output: tensors[0]?.tensor ?? { shape: { why: `the outputs of the model at line ${line(node)} are not known` }, history: [] },
        input: ins[0]?.kind === 'tensor' ? ins[0].tensor : undefined,
      };
      if (tensors.length !== outs.length || outs.length === 0) model.uncertain = 'its outputs are not all known';
      ti.models.push(model);
      return { kind: 'model', model };
    }
    case 'input':
    case 'layers.input': {
      const cfg = configOf(a);
      const shape = cfg.get('shape');
      const batch = cfg.get('batchShape');
      const v = shape ?? batch;
      const dims = v?.kind === 'array' && !v.open ? (v === shape ? v.items : v.items.slice(1)) : undefined;
      const s: ShapeOrWhy = dims
        ? { shape: { dims: dims.map((d) => (d.kind === 'null' ? undefined : asPoly(d))), notes } }
        : { why: `the shape of the input at line ${line(node)} is not known (${whyNot(v, 'shape')})` };
      return { kind: 'tensor', tensor: { shape: s, history: [] } };
    }
    default:
      return unknown(`\`tf.${path}(...)\` is not followed`);
  }
}

/** Builds a layer on its input(s) the first time; returns the output tensor. */
export function applyLayer(ti: TfjsInterpreter, inst: Instance, input: Value, at: Node): Value {
  const spec = OPS[inst.op];
  const tensors: Value[] = spec?.multi && input.kind === 'array' ? input.items : [input];
  const shapes: ShapeOrWhy[] = tensors.map((t) =>
    t.kind === 'tensor'
      ? t.tensor.shape
      : { why: `the input of \`${inst.op}\` at line ${line(at)} is not a tensor the tool follows (${whyNot(t, 'it')})` },
  );
  if (input.kind === 'array' && input.open) shapes.push({ why: input.open });
  const history = [...new Set(tensors.flatMap((t) => (t.kind === 'tensor' ? t.tensor.history : [])))];
  history.push(inst);
  const output = build(ti, inst, shapes, at);
  return { kind: 'tensor', tensor: { shape: output, history } };
}

export function build(ti: TfjsInterpreter, inst: Instance, shapes: ShapeOrWhy[], at: Node): ShapeOrWhy {
  const spec = OPS[inst.op];
  const first = !inst.built;
  if (first) {
    inst.built = true;
    inst.input = shapes[0];
    inst.inputs = shapes;
  }
  const where = `${inst.position ? `layer ${inst.position} (\`${inst.op}\`, line ${line(at)})` : `\`${inst.op}\` at line ${line(at)}`}`;
  let out: ShapeOrWhy;
  if (!spec) {
    out = { why: `channels unknown after ${where}: tf.layers.${inst.op} is not followed` };
    if (first) inst.paramsWhy = `tf.layers.${inst.op} is not followed`;
  } else {
    const missing = shapes.find((s) => !s.shape);
    if (missing) {
      out = missing;
      if (first) inst.paramsWhy = 'its input is not known';
    } else {
      const r = spec.build(
        configOf(inst.config),
        shapes.map((s) => s.shape!),
        ti.host.options,
      );
      out = r.output.shape
        ? { shape: { dims: r.output.shape.dims, notes: [...new Set([...r.output.shape.notes, ...inst.notes])] } }
        : r.output;
      if (!r.output.shape && !/^channels unknown/.test(r.output.why)) out = { why: `channels unknown after ${where}: ${r.output.why}` };
      if (first) {
        inst.params = r.params;
        inst.paramsWhy = r.params ? undefined : r.paramsWhy;
        inst.assumedInput = r.assumed;
      }
    }
  }
  if (first) inst.output = out;
  return out;
}

export function addToModel(ti: TfjsInterpreter, model: ModelState, v: Value, at: Node): void {
  if (v.kind !== 'layer') {
    const why =
      v.kind === 'model'
        ? `a nested model added at line ${line(at)} is not followed`
        : `what is added at line ${line(at)} is not a layer the tool follows (${whyNot(v, 'it')})`;
    model.uncertain ??= why;
    model.output = { shape: { why: `channels unknown: ${why}` }, history: model.output?.history ?? [] };
    return;
  }
  const inst = v.inst;
  model.layers.push(inst);
  inst.position ??= model.layers.length;
  const loop = ti.loops[ti.loops.length - 1];
  if (loop) {
    model.uncertain ??= `layers are added in the loop at ${loop}`;
    model.output = {
      shape: { why: `channels unknown: layers are added to the model in the loop at ${loop}, which runs an unknown number of times` },
      history: model.output?.history ?? [],
    };
  }
  if (model.output === undefined) {
    const declared = declaredInput(configOf(inst.config)) ?? {
      why: `the first layer of the model (\`${inst.op}\`, line ${line(at)}) has no inputShape`,
    };
    model.input = { shape: declared, history: [] };
    const out = applyLayer(ti, inst, { kind: 'tensor', tensor: model.input }, at);
    model.output = (out as Value & { kind: 'tensor' }).tensor;
    return;
  }
  const out = applyLayer(ti, inst, { kind: 'tensor', tensor: model.output }, at);
  model.output = (out as Value & { kind: 'tensor' }).tensor;
}
