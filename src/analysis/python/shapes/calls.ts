/** The interpreter's calls: arguments, binding them to parameters, user functions, builtins, torch, module calls (`forward`). */
import { bornOf } from './buildMemo';
import type { Node } from 'web-tree-sitter';
import { MAX_DEPTH } from '../../kernel/budget';
import { canonical } from '../imports';
import { callBuiltin } from './builtins';
import { joinValues } from './branches';
import { carryDtype, torchName } from './dtypes';
import type { Interp } from './interpreter';
import { named } from './nodes';
import { forwardNative } from './torch/forward';
import type { ConvData } from './torch/modules';
import { callTorch } from './torch/functions';
import {
  concrete,
  describe,
  NONE,
  strV,
  unknown,
  type CallArgs,
  type FunctionObj,
  type ModuleObj,
  type Scope,
  type Unknown,
  type V,
} from './values';

export function evalCall(ip: Interp, node: Node, scope: Scope): V {
  const fnNode = node.childForFieldName('function')!;
  const argsNode = node.childForFieldName('arguments');
  if (fnNode.type === 'identifier' && fnNode.text === 'super' && !scope.vars.has('super') && !scope.env.globals.has('super')) {
    return ip.makeSuper(argsNode, scope, node);
  }
  let fn = ip.eval(fnNode, scope);
  if (fn.kind === 'class' && fn.c.env.file !== ip.program.entry && WEIGHT_URLS.has(fn.c.name)) return unknown(WEIGHT_URLS_WHY);
  // a callee that is not defined (`lib.op`): say so about the call, not the name alone
  const own = fn.kind === 'unknown' ? /^shape unknown after line (\d+): `([^`]*)` \((.*)\)$/s.exec(fn.why) : null;
  if (own && Number(own[1]) === fnNode.startPosition.row + 1 && fnNode.text.startsWith(own[2])) fn = ip.fail(node, own[3]);
  const a = evalArgs(ip, argsNode, scope);
  if (!('args' in a)) return a;
  const before = ip.stops.length;
  const v = call(ip, fn, a, node);
  // remember the outermost user call that returned a module (a model built in an example)
  if (v.kind === 'module' && (fn.kind === 'class' || fn.kind === 'function')) {
    ip.origins.set(v.m, { callee: fn, at: node, stops: ip.stops.slice(before).map((s) => s.why) });
  }
  return v;
}

export function evalArgs(ip: Interp, node: Node | null, scope: Scope): CallArgs | Unknown {
  const out: CallArgs = { args: [], kwargs: new Map() };
  if (!node) return out;
  if (node.type === 'generator_expression') {
    out.args.push(ip.eval(node, scope));
    return out;
  }
  for (const a of named(node)) {
    if (a.type === 'list_splat') {
      const items = ip.iterate(ip.eval(named(a)[0], scope), a);
      if (!Array.isArray(items)) return items;
      out.args.push(...items);
    } else if (a.type === 'dictionary_splat') {
      const d = ip.eval(named(a)[0], scope);
      if (d.kind !== 'dict') return (d.kind === 'unknown' ? d : ip.fail(a, '`**` of a non-dict')) as Unknown;
      for (const [k, v] of d.entries) if (k.kind === 'str') out.kwargs.set(k.value, v);
    } else if (a.type === 'keyword_argument') {
      out.kwargs.set(a.childForFieldName('name')!.text, ip.eval(a.childForFieldName('value')!, scope));
    } else {
      out.args.push(ip.eval(a, scope));
    }
  }
  return out;
}

export function call(ip: Interp, fn: V, a: CallArgs, at: Node): V {
  switch (fn.kind) {
    case 'function':
      return callFunction(ip, fn.f, a, at);
    case 'bound':
      return callFunction(ip, fn.f, { args: [fn.self, ...a.args], kwargs: a.kwargs }, at);
    case 'class':
      return ip.instantiate(fn.c, a, at);
    case 'native':
      return callBuiltin(ip, fn, a, at);
    case 'lib': {
      const p = canonical(fn.path);
      const short = torchName(p);
      const r = callTorch(ip, p, undefined, a, at);
      return short ? carryDtype(short, a.args, a, r) : r;
    }
    case 'module':
      return callModule(ip, fn.m, a, at);
    case 'object': {
      const dunder = ip.classMember(fn.o.cls, '__call__', fn, at);
      return dunder ? call(ip, dunder, a, at) : ip.fail(at, `${fn.o.cls.name} is not callable`);
    }
    case 'unknown':
      // the first cause is the reason; modules handed to it may run unseen
      ip.opaque(at, a, 'a call of an unknown function');
      return fn;
    default:
      return ip.fail(at, `${describe(fn)} is not callable`);
  }
}

/**
 * Functions of the libraries whose source is followed that only log API usage (torchvision calls
 * `_log_api_usage_once(self)` in every model's `__init__`): they build and change nothing, and
 * their bodies (a test of `obj.__module__`, which is not known) cost an explored branch per call.
 */
const TELEMETRY = new Set(['_log_api_usage_once']);

/**
 * Library classes that only hold the URLs of pretrained weights: torchvision's legacy
 * `model_urls = _ModelURLs({"alexnet": AlexNet_Weights.IMAGENET1K_V1.url})` at the end of each
 * model file. Their arguments are not evaluated: they would compute a weights enum's member
 * (its transforms and the 1,000 ImageNet categories) that no model built with the default
 * `weights=None` reads (about 0.1 s per torchvision model file).
 */
const WEIGHT_URLS = new Set(['_ModelURLs']);
const WEIGHT_URLS_WHY = 'the URLs of pretrained weights are not followed';

export function callFunction(ip: Interp, f: FunctionObj, a: CallArgs, at: Node): V {
  if (TELEMETRY.has(f.name) && f.owner === undefined) return NONE;
  // a body that does not run at all is a stop: what it would have built or run is missing
  if (ip.depth >= MAX_DEPTH) return unknown(ip.stopAt(at, 'calls nested too deeply').why);
  ip.invoked.add(f);
  const scope: Scope = { vars: new Map(), parent: f.closure, env: f.env, fn: f, self: undefined, born: ip.nextId };
  const err = bind(ip, f, a, scope);
  if (err && ip.phase === 'discover') ip.discoveryDetours++;
  if (err)
    return ip.phase === 'module' || ip.phase === 'discover'
      ? ip.fail(at, `${f.name}(): ${err}`)
      : unknown(ip.stopAt(at, `${f.name}(): ${err}`).why);
  const body = f.node.childForFieldName('body')!;
  if (isGenerator(f.node)) return ip.fail(at, `${f.name}() is a generator, which is not followed`);
  ip.depth++;
  // in a forward pass, the calls a mismatch is reported with
  const framed = ip.phase === 'forward';
  if (framed) ip.frames.push({ at, fn: f, self: scope.self });
  try {
    if (f.node.type === 'lambda') return ip.eval(body, scope);
    ip.pendingReturns.push([]);
    const c = ip.execBlock(body, scope);
    const pending = ip.pendingReturns.pop()!;
    if (c.type === 'stop') return unknown(c.why);
    const value = c.type === 'return' ? c.value : NONE;
    return pending.length ? joinValues([value, ...pending], `the conditions of ${f.name}()`) : value;
  } finally {
    if (framed) ip.frames.pop();
    ip.depth--;
  }
}

/** Binds call arguments to a function's parameters; a message when they do not fit. */
export function bind(ip: Interp, f: FunctionObj, a: CallArgs, scope: Scope): string | undefined {
  const params = named(f.node.childForFieldName('parameters'));
  const kw = new Map(a.kwargs);
  let i = 0;
  let keywordOnly = false;
  let first = true;
  for (const p of params) {
    let kind = p.type;
    let inner = p;
    if (kind === 'typed_parameter' && named(p)[0] && named(p)[0].type !== 'identifier') {
      inner = named(p)[0]!;
      kind = inner.type;
    }
    if (kind === 'list_splat_pattern') {
      scope.vars.set(named(inner)[0].text, { kind: 'tuple', items: a.args.slice(i) });
      i = a.args.length;
      keywordOnly = true;
      continue;
    }
    if (kind === 'dictionary_splat_pattern') {
      scope.vars.set(named(inner)[0].text, { kind: 'dict', entries: [...kw].map(([k, v]) => [strV(k), v]) });
      kw.clear();
      continue;
    }
    if (kind === 'keyword_separator') {
      keywordOnly = true;
      continue;
    }
    if (kind === 'positional_separator') continue;
    const name = p.type === 'identifier' ? p.text : (p.childForFieldName('name')?.text ?? named(p)[0]?.text);
    if (!name) continue;
    let v: V | undefined;
    if (!keywordOnly && i < a.args.length) {
      v = a.args[i++];
      if (kw.has(name)) return `got multiple values for \`${name}\``;
    } else if (kw.has(name)) {
      v = kw.get(name);
      kw.delete(name);
    } else if (f.defaults.has(name)) {
      v = ip.userValue(f, name) ?? f.defaults.get(name);
      // a default is made once, when the function is defined: a build that reads a mutable one is not remembered
      if (v) ip.memo.read(v, f.closure ? bornOf(f.closure) : 0);
    } else {
      return `missing argument \`${name}\``;
    }
    scope.vars.set(name, v!);
    if (first) scope.self = v;
    first = false;
  }
  if (i < a.args.length) return 'too many positional arguments';
  if (kw.size > 0) return `unexpected keyword argument \`${[...kw.keys()][0]}\``;
  return undefined;
}

/** The file a node belongs to (nodes of every loaded file share no tree, so compare roots). */
export function fileOf(ip: Interp, node: Node): string {
  if (node.tree === ip.program.entry.root.tree) return ip.program.entry.path;
  for (const env of ip.envs.values()) if (env.file.root.tree === node.tree) return env.file.path;
  return '';
}

/** `module(x, ...)`: the user's forward, or the library module's shape rule. */
export function callModule(ip: Interp, m: ModuleObj, a: CallArgs, at: Node): V {
  // an example run: in `__main__`, a function that makes a tensor, or top-level script or notebook
  // code of the analysed file (`print(model(torch.randn(1, 3, 32, 32)).shape)`)
  if (ip.phase === 'discover' || (ip.phase === 'module' && ip.topLevelOf === ip.program.entry)) {
    if (ip.phase === 'discover') ip.discoveryDetours++;
    const x = a.args[0];
    if (x?.kind === 'tensor' && x.example) {
      const shape = x.shape.every((d) => typeof d === 'number') ? x.shape : undefined;
      if (shape) ip.examples.push({ m, input: shape, line: x.example.line });
    }
    return unknown('not run during discovery');
  }
  if (m.cls) {
    const dunder = ip.classMember(m.cls, '__call__', { kind: 'module', m }, at);
    if (dunder) return call(ip, dunder, a, at);
    const fwd = ip.classMember(m.cls, 'forward', { kind: 'module', m }, at);
    if (fwd && m.native?.data.conv) return overriddenConvForward(ip, m, fwd, a, at);
    if (fwd) return call(ip, fwd, a, at);
  }
  if (m.native) return forwardNative(ip, m, a, at);
  // nothing ran: a stop, or the convs it would have run would look unused
  return unknown(ip.stopAt(at, `${describe({ kind: 'module', m })} has no forward()`).why);
}

/**
 * A conv subclass's own forward (weight standardisation, `F.conv2d` on a changed weight): run as
 * written, the call counted as PyTorch's forward hook on the module sees it (its input and output,
 * the module's kernel and groups), once, whatever the override calls inside.
 */
function overriddenConvForward(ip: Interp, m: ModuleObj, fwd: V, a: CallArgs, at: Node): V {
  const conv = m.native!.data.conv as ConvData;
  const recorded = m.calls.length;
  const out = call(ip, fwd, a, at);
  m.calls.length = recorded;
  const x = a.args[0];
  const input = x?.kind === 'tensor' ? concrete(x.shape) : undefined;
  const output = out.kind === 'tensor' ? concrete(out.shape) : undefined;
  if (!input || !output) {
    m.calls.push({
      input: input,
      output: output,
      macs: undefined,
      why: out.kind === 'unknown' ? out.why : 'the output of its forward() is not known',
    });
    return out;
  }
  const batched = input.length === conv.dims + 2;
  const numel = (shape: number[]) => shape.slice(batched ? 1 : 0).reduce((p, d) => p * d, 1);
  const kvol = (conv.args.kernelSize ?? []).reduce((p, k) => p * k, 1);
  const cin = conv.args.inChannels?.constant;
  const cout = conv.args.outChannels?.constant;
  const g = conv.args.groups?.constant;
  const macs =
    cin === undefined || cout === undefined || g === undefined || !conv.args.kernelSize
      ? undefined
      : conv.transposed
        ? numel(input) * (cout / g) * kvol
        : numel(output) * (cin / g) * kvol;
  m.calls.push({ input, output, macs, why: macs === undefined ? 'MACs unknown' : undefined });
  return out;
}

const generators = new WeakMap<Node, boolean>();

/**
 * A function whose own body (not a nested function's) yields. Most functions never say `yield`:
 * their text answers without walking (and copying, syntax.ts) the whole body.
 */
function isGenerator(fn: Node): boolean {
  let known = generators.get(fn);
  if (known === undefined) {
    known =
      fn.type === 'function_definition' &&
      fn.text.includes('yield') &&
      fn.descendantsOfType('yield').some((y) => {
        for (let p = y?.parent; p; p = p.parent) {
          if (p.type === 'function_definition' || p.type === 'lambda') return p.id === fn.id;
        }
        return false;
      });
    generators.set(fn, known);
  }
  return known;
}
