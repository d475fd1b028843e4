/** PyTorch: `torch.nn` convolutions in Python files and notebooks (src/analysis/python, src/refactor/pytorch.ts). */
import type { Node } from 'web-tree-sitter';
import { analyzePython, MAY_HOLD_CONV, type PythonAnalysis, type PythonLayer } from '../analysis/python/analyze';
import { LayerMemo } from '../analysis/python/incremental';
import { dropPrepared, focusShapes, inferShapes, MAY_DEFINE_MODEL, prepareShapes, reachShapes } from '../analysis/python/shapes/index';
import { heldParse } from '../analysis/python/shapes/program';
import { planPythonRewrite } from '../refactor/pytorch';
import type { Framework } from './framework';

const tuple = (xs: number[] | null) => (xs ? (xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`) : '?');
const value = (v: number | null, s: string | null | undefined) => (v !== null ? String(v) : (s ?? '?'));

export const pytorch: Framework<PythonAnalysis> = {
  id: 'pytorch',
  name: 'PyTorch',
  languages: ['python'],
  fence: 'python',
  readsNeighbours: true,
  offThread: true,
  checkpoint: { format: 'state-dict', goesWith: 'a PyTorch checkpoint goes with Python code', models: (analysis) => analysis.models ?? [] },
  // a file without a conv call can still define a model whose convs live in files it imports
  mayHold: (text, sources) => MAY_HOLD_CONV.test(text) || !!(sources?.read && MAY_DEFINE_MODEL.test(text)),
  heldParse,
  empty: () => ({
    framework: 'pytorch',
    layers: [],
    syntaxError: undefined,
    notes: [],
    imports: { bindings: new Map(), starModules: [], fromTorchNn: [] },
    pragmaText: {},
  }),
  analyze(text, tree, _id, options, { range, sources, memo }) {
    const analysis = analyzePython(text, tree, options, range, memo as LayerMemo | undefined);
    // shape inference: the models of the file, exact shapes and MACs for the layers they run. A
    // range asks for the quick static view of a few layers (an editor's visible lines): no models.
    if (!range) inferShapes(analysis, text, tree, options, sources, {}, memo as LayerMemo | undefined);
    return analysis;
  },
  newMemo: () => new LayerMemo(),
  focus: (quick, text, tree, options, sources, memo) =>
    !quick.syntaxError && !!memo && focusShapes(quick.layers, text, tree, options, sources, memo as LayerMemo),
  // a call no model builds is final only for a document not typed in yet, before its first full run:
  // while typing, the full run that a failed reach starts is what later hovers are focused from
  // (a full run started in the background after the answer would be interrupted by the next edit)
  reach: (quick, text, tree, options, sources, at, memo) =>
    !quick.syntaxError &&
    reachShapes(quick.layers, text, tree, options, sources, at, !!memo && !(memo as LayerMemo).shapes && !(memo as LayerMemo).edited),
  prepare: (text, tree, options, sources) => prepareShapes(text, tree, options, sources),
  unprepare: () => dropPrepared(),
  planRewrite: (text, analysis, layers, opts) => planPythonRewrite(text, analysis, layers as PythonLayer[], opts),
  container(tree, offset) {
    // the outermost class (an `nn.Module` subclass); layers at module level have none
    let found: Node | undefined;
    for (let n: Node | null = tree.rootNode.descendantForIndex(offset); n; n = n.parent) if (n.type === 'class_definition') found = n;
    return found && { node: found, kind: 'class', name: found.childForFieldName('name')?.text };
  },
  signature(layer, json) {
    const sym = json.symbolic;
    const pad = typeof json.padding === 'string' ? `'${json.padding}'` : tuple(json.padding);
    const parts = [
      ...(layer.kind === 'lazy' ? [] : [`in_channels=${value(json.inChannels, sym?.inChannels)}`]),
      `out_channels=${value(json.outChannels, sym?.outChannels)}`,
      `kernel_size=${tuple(json.kernelSize)}`,
      `stride=${tuple(json.stride)}`,
      `padding=${pad}`,
      `dilation=${tuple(json.dilation)}`,
      `groups=${value(json.groups, sym?.groups)}`,
      `bias=${json.bias === null ? '?' : json.bias ? 'True' : 'False'}`,
    ];
    // a conv subclass's `super().__init__(...)` configures the conv class it derives from
    const subclass = (layer as PythonLayer).subclass;
    return `${subclass ? subclass.base : layer.callee}(${parts.join(', ')})`;
  },
};
