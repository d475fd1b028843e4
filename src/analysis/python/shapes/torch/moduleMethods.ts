/** Methods and attributes of torch.nn modules (`children()`, `named_modules()`, `apply`, `weight_norm`, ...). */
import type { Node } from 'web-tree-sitter';
import type { Host } from '../host';
import { tensorNumel } from '../values';
import { describe, intOf, intV, NONE, unknown, type CallArgs, type ModuleObj, type NativeModule, type V } from '../values';

import { type ConvData, register } from './modules';
import { forwardNative } from './forward';
import { callFloatFunctional, hasFloatFunctionalMethod } from '../quantized';

// -----------------------------------------------------------------------------------------------
// module attributes and methods

const MODULE_METHODS = new Set([
  'add_module',
  'register_module',
  'register_buffer',
  'register_parameter',
  'modules',
  'named_modules',
  'children',
  'named_children',
  'parameters',
  'named_parameters',
  'buffers',
  'apply',
  'eval',
  'train',
  'to',
  'cuda',
  'cpu',
  'float',
  'half',
  'double',
  'requires_grad_',
  'zero_grad',
  'forward',
  'append',
  'extend',
  'insert',
  'keys',
  'items',
  'values',
  'update',
  'pop',
  'state_dict',
  'load_state_dict',
  'type',
  'get_submodule',
  'extra_repr',
  'reset_parameters',
]);

export function nativeModuleAttribute(interp: Host, v: V & { kind: 'module' }, name: string, at: Node, fromSuper = false): V {
  const n = v.m.native;
  const attr = n?.attrs.get(name);
  if (attr) return attr;
  if ((name === 'weight' || name === 'bias') && n?.data.conv) {
    const c = n.data.conv as ConvData;
    if (name === 'bias') return c.args.bias ? { kind: 'tensor', shape: [c.args.outChannels!.constant!], param: true } : NONE;
    const shape = weightShape(n);
    return shape ? { kind: 'tensor', shape, param: true } : interp.fail(at, 'the weight of a lazy conv');
  }
  if ((name === 'weight' || name === 'bias') && n && (n.type === 'Linear' || n.type === 'LazyLinear')) {
    if (name === 'bias') return n.data.bias ? { kind: 'tensor', shape: [n.data.outF as number], param: true } : NONE;
    const shape = weightShape(n);
    return shape ? { kind: 'tensor', shape, param: true } : interp.fail(at, 'a lazy weight');
  }
  // a norm layer's affine parameters: None without them (`affine=False`, `elementwise_affine=False`)
  if ((name === 'weight' || name === 'bias') && n && (typeof n.data.channels === 'number' || Array.isArray(n.data.normalized))) {
    const affine = n.attrs.get('affine') ?? n.attrs.get('elementwise_affine');
    if (affine?.kind === 'bool' && !affine.value) return NONE;
    const shape = typeof n.data.channels === 'number' ? [n.data.channels] : (n.data.normalized as number[]);
    return { kind: 'tensor', shape, param: true };
  }
  if (MODULE_METHODS.has(name) || hasFloatFunctionalMethod(v.m, name)) return { kind: 'native', name: `module.${name}`, self: v };
  void fromSuper;
  return interp.fail(at, `${describe(v)} has no attribute \`${name}\``);
}

/** A module and its submodules, each once, in PyTorch's `modules()` order (no names made: for the callers that read only the modules). */
export function allModules(root: ModuleObj): ModuleObj[] {
  const out: ModuleObj[] = [];
  const seen = new Set<ModuleObj>();
  const walk = (m: ModuleObj) => {
    if (seen.has(m)) return;
    seen.add(m);
    out.push(m);
    for (const sub of m.modules.values()) if (sub) walk(sub);
  };
  walk(root);
  return out;
}

/** named_modules(): each module once, depth first, in registration order. */
export function namedModules(root: ModuleObj, prefix = ''): [string, ModuleObj][] {
  const out: [string, ModuleObj][] = [];
  const seen = new Set<ModuleObj>();
  const walk = (m: ModuleObj, name: string) => {
    if (seen.has(m)) return;
    seen.add(m);
    out.push([name, m]);
    for (const [k, sub] of m.modules) if (sub) walk(sub, name ? `${name}.${k}` : k);
  };
  walk(root, prefix);
  return out;
}

export function callModuleMethod(interp: Host, self: V & { kind: 'module' }, name: string, a: CallArgs, at: Node): V {
  const m = self.m;
  const args = a.args;
  const str = (v: V | undefined) => (v?.kind === 'str' ? v.value : undefined);
  const ff = callFloatFunctional(interp, m, name, a, at, {
    binary: (op, l, r) => interp.binop(op, l, r, at),
    cat: (x) => interp.call({ kind: 'lib', path: 'torch.cat' }, x, at),
  });
  if (ff) return ff;
  switch (name) {
    case 'forward':
      return m.native ? forwardNative(interp, m, a, at) : interp.fail(at, 'nn.Module.forward is not implemented');
    case 'add_module':
    case 'register_module': {
      const key = str(args[0] ?? a.kwargs.get('name'));
      const sub = args[1] ?? a.kwargs.get('module');
      if (key === undefined || !sub) return interp.fail(at, `${name}() arguments`);
      if (sub.kind === 'module') m.modules.set(key, sub.m);
      else if (sub.kind === 'none') m.modules.set(key, null);
      else m.params.set(`<${key}>`, sub.kind === 'unknown' ? sub.why : 'not a module');
      return NONE;
    }
    case 'register_buffer': {
      const key = str(args[0]);
      if (key !== undefined) m.attrs.set(key, args[1] ?? NONE);
      return NONE;
    }
    case 'register_parameter': {
      const key = str(args[0]);
      const p = args[1];
      if (key !== undefined && p) {
        if (p.kind === 'tensor') m.params.set(key, tensorNumel(p));
        else if (p.kind !== 'none') m.params.set(key, p.kind === 'unknown' ? p.why : 'not a parameter');
        m.attrs.set(key, p);
      }
      return NONE;
    }
    case 'modules':
    case 'named_modules':
    case 'children':
    case 'named_children': {
      const list = name.endsWith('children')
        ? ([...m.modules.entries()].filter(([, x]) => x !== null).filter(([, x], i, all) => all.findIndex(([, y]) => y === x) === i) as [
            string,
            ModuleObj,
          ][])
        : namedModules(m);
      const named = name.startsWith('named');
      return {
        kind: 'list',
        items: list.map(([k, x]) =>
          named
            ? {
                kind: 'tuple',
                items: [
                  { kind: 'str', value: k },
                  { kind: 'module', m: x },
                ],
              }
            : { kind: 'module', m: x },
        ),
      };
    }
    case 'parameters':
    case 'named_parameters':
    case 'buffers':
      return { kind: 'list', items: [] };
    case 'apply':
    case 'eval':
    case 'train':
    case 'to':
    case 'cuda':
    case 'cpu':
    case 'float':
    case 'half':
    case 'double':
    case 'requires_grad_':
    case 'type':
      return self;
    case 'zero_grad':
    case 'load_state_dict':
    case 'reset_parameters':
      return NONE;
    case 'append':
    case 'extend':
    case 'insert': {
      const items = name === 'extend' ? interp.iterate(args[0] ?? NONE, at) : [name === 'insert' ? (args[1] ?? NONE) : (args[0] ?? NONE)];
      if (!Array.isArray(items)) {
        m.params.set(`<${m.modules.size}>`, items.why);
        return self;
      }
      if (name === 'insert') {
        const i = intOf(args[0] ?? NONE);
        const all = [...m.modules.values()];
        if (i === undefined) return interp.fail(at, 'insert() index');
        const item = items[0];
        if (item.kind !== 'module') return interp.fail(at, 'insert() of a non-module');
        all.splice(i < 0 ? all.length + i : i, 0, item.m);
        m.modules.clear();
        all.forEach((x, k) => m.modules.set(String(k), x));
        return NONE;
      }
      for (const it of items) register(interp, m, String(m.modules.size), it);
      return name === 'extend' ? self : m.native?.type === 'Sequential' ? self : NONE;
    }
    case 'keys':
      return { kind: 'list', items: [...m.modules.keys()].map((k) => ({ kind: 'str', value: k })) };
    case 'values':
      return { kind: 'list', items: [...m.modules.values()].filter((x) => x !== null).map((x) => ({ kind: 'module', m: x })) };
    case 'items':
      return {
        kind: 'list',
        items: [...m.modules.entries()]
          .filter(([, x]) => x !== null)
          .map(([k, x]) => ({
            kind: 'tuple',
            items: [
              { kind: 'str', value: k },
              { kind: 'module', m: x! },
            ],
          })),
      };
    case 'update': {
      const src = args[0];
      if (src?.kind === 'dict') for (const [k, v] of src.entries) if (k.kind === 'str') register(interp, m, k.value, v);
      return NONE;
    }
    case 'pop': {
      const key = str(args[0]);
      const sub = key !== undefined ? m.modules.get(key) : undefined;
      if (key !== undefined) m.modules.delete(key);
      return sub ? { kind: 'module', m: sub } : interp.fail(at, 'pop()');
    }
    default:
      return unknown(`shape unknown after line ${at.startPosition.row + 1}: nn.Module.${name}() is not modelled`);
  }
}

/**
 * `weight_norm(module, name='weight', dim=0)` splits the weight into `weight_v` (same shape) and
 * `weight_g` (the weight's size along `dim`, 1 elsewhere; `dim=None`: one number), so the module gains
 * that many parameters; `spectral_norm` keeps the count (its `u`, `v` are buffers). The module is
 * returned, as PyTorch does.
 */
export function reparametrize(m: ModuleObj, weightNorm: boolean, a: CallArgs, at: Node): V {
  if (!weightNorm) return { kind: 'module', m };
  const name = a.args[1] ?? a.kwargs.get('name');
  const dimArg = a.args[2] ?? a.kwargs.get('dim') ?? intV(0);
  const shape = weightShape(m.native);
  const why = (detail: string) => `weight_norm() at line ${at.startPosition.row + 1}: ${detail}`;
  if (name && !(name.kind === 'str' && name.value === 'weight')) m.params.set('weight_g', why('a weight other than `weight`'));
  else if (!shape) m.params.set('weight_g', why(`the weight shape of ${describe({ kind: 'module', m })} is not known`));
  else if (dimArg.kind === 'none') m.params.set('weight_g', 1);
  else {
    const d = intOf(dimArg);
    const size = d === undefined ? undefined : shape[d < 0 ? shape.length + d : d];
    m.params.set('weight_g', size ?? why('`dim` is not known'));
  }
  return { kind: 'module', m };
}

/** The `weight` shape of a conv or linear module, from its configuration; undefined while lazy. */
function weightShape(n: NativeModule | undefined): number[] | undefined {
  const c = n?.data.conv as ConvData | undefined;
  if (c) {
    const cin = c.args.inChannels?.constant;
    const cout = c.args.outChannels!.constant!;
    const g = c.args.groups!.constant!;
    if (cin === undefined) return undefined;
    return c.transposed ? [cin, cout / g, ...c.args.kernelSize!] : [cout, cin / g, ...c.args.kernelSize!];
  }
  if (n && (n.type === 'Linear' || n.type === 'LazyLinear') && n.data.inF !== undefined)
    return [n.data.outF as number, n.data.inF as number];
  return undefined;
}
