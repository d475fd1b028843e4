/** TensorFlow.js: `tf.layers` convolutions in JavaScript and TypeScript (src/analysis/tfjs, src/refactor/tfjs.ts). */
import type { Node } from 'web-tree-sitter';
import { analyzeTfjs, emptyTfjsAnalysis, MAY_USE_TFJS, type TfjsAnalysis, type TfjsLayer } from '../analysis/tfjs/analyze';
import { planTfjsRewrite } from '../refactor/tfjs';
import type { Framework } from './framework';

const FUNCTIONS = new Set(['function_declaration', 'generator_function_declaration', 'class_declaration', 'method_definition']);
const VALUES = new Set(['lexical_declaration', 'variable_declaration']);

const value = (v: number | null, s: string | null | undefined) => (v !== null ? String(v) : (s ?? '?'));
const list = (xs: number[] | null) => (xs ? `[${xs.join(', ')}]` : '?');

export const tfjs: Framework<TfjsAnalysis> = {
  id: 'tfjs',
  name: 'TensorFlow.js',
  languages: ['javascript', 'typescript', 'tsx'],
  fence: 'javascript',
  readsNeighbours: false,
  // its interpreter has a step budget of its own
  offThread: false,
  checkpoint: {
    format: 'layers-model',
    goesWith: 'a TensorFlow.js model.json goes with JavaScript or TypeScript code',
    // a layers model names its layers: matched by name, not by module path
    models: () => [],
  },
  mayHold: (text) => MAY_USE_TFJS.test(text),
  empty: emptyTfjsAnalysis,
  analyze: (text, tree, id, options) => analyzeTfjs(text, tree, id, options),
  planRewrite: (text, analysis, layers, opts) => planTfjsRewrite(text, analysis, layers as TfjsLayer[], opts),
  container(tree, offset) {
    // the outermost function or class, or else the top-level statement (a `tf.sequential({layers: [...]})` declaration)
    let found: Node | undefined;
    for (let n: Node | null = tree.rootNode.descendantForIndex(offset); n; n = n.parent) {
      if (FUNCTIONS.has(n.type)) found = n;
      if (!found && n.parent?.type === 'program' && VALUES.has(n.type)) found = n;
    }
    if (!found) return undefined;
    const kind = found.type === 'class_declaration' ? 'class' : VALUES.has(found.type) ? 'const' : 'function';
    const name =
      found.childForFieldName('name')?.text ??
      (VALUES.has(found.type)
        ? found.namedChildren.find((c) => c?.type === 'variable_declarator')?.childForFieldName('name')?.text
        : undefined);
    return { node: found, kind, name };
  },
  signature(layer, json) {
    const sym = json.symbolic;
    const parts = [
      ...(layer.kind === 'depthwise' ? [] : [`filters: ${value(json.outChannels, sym?.outChannels)}`]),
      `kernelSize: ${list(json.kernelSize)}`,
      `strides: ${list(json.stride)}`,
      `padding: ${typeof json.padding === 'string' ? `'${json.padding}'` : list(json.padding)}`,
      `dilationRate: ${list(json.dilation)}`,
      ...(layer.args.depthMultiplier !== undefined ? [`depthMultiplier: ${layer.args.depthMultiplier}`] : []),
      `useBias: ${json.bias === null ? '?' : String(json.bias)}`,
    ];
    return `${layer.callee}({${parts.join(', ')}})  // input channels: ${value(json.inChannels, sym?.inChannels)}`;
  },
};
