/** The interpreter's definitions: functions, classes (dataclasses, enums), the MRO, `super`, class members, instances and the modules they make. */
import type { Node } from 'web-tree-sitter';
import { MAX_MODULES } from '../../kernel/budget';
import { canonical } from '../imports';
import { deferredValue } from './imports';
import type { Interp } from './interpreter';
import { named } from './nodes';
import { isNnClass } from './torch/args';
import { nativeModuleAttribute } from './torch/moduleMethods';
import { initNative } from './torch/modules';
import { resolved, strV, type CallArgs, type ClassObj, type FunctionObj, type ModuleObj, type Scope, type V } from './values';
import { grouped } from '../../digits';

export function defineFunction(ip: Interp, node: Node, scope: Scope, decorators: string[]): void {
  const name = node.childForFieldName('name')!.text;
  const f: FunctionObj = {
    name,
    node,
    env: scope.env,
    closure: scope.classOf ? scope.parent : scope,
    defaults: defaults(ip, node.childForFieldName('parameters'), scope),
    owner: scope.classOf,
    kind: decorators.includes('staticmethod')
      ? 'staticmethod'
      : decorators.includes('classmethod')
        ? 'classmethod'
        : decorators.includes('property')
          ? 'property'
          : 'function',
  };
  ip.setName(name, { kind: 'function', f }, scope);
}

export function defaults(ip: Interp, params: Node | null, scope: Scope): Map<string, V> {
  const out = new Map<string, V>();
  for (const p of named(params)) {
    if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') {
      out.set(p.childForFieldName('name')!.text, ip.eval(p.childForFieldName('value')!, scope));
    }
  }
  return out;
}

export function defineClass(ip: Interp, node: Node, scope: Scope, dataclass = false): void {
  const name = node.childForFieldName('name')!.text;
  const bases = named(node.childForFieldName('superclasses'))
    .filter((b) => b.type !== 'keyword_argument')
    .map((b) => ip.eval(b, scope));
  const c: ClassObj = { id: ip.newId(), name, node, env: scope.env, bases, attrs: new Map() };
  c.attrs.set('__name__', strV(name));
  const classScope: Scope = { vars: c.attrs, parent: scope, env: scope.env, fn: undefined, self: undefined, classOf: c, born: c.id };
  if (mro(c).some((x) => typeof x === 'string' && /^enum\.(Enum|IntEnum|StrEnum|Flag|IntFlag)$/.test(x))) {
    classBody(ip, node.childForFieldName('body'), classScope, enumMember);
    enumMembers(c);
  } else classBody(ip, node.childForFieldName('body'), classScope, (name) => name === '__annotations__');
  if (dataclass) {
    // fields: the annotated names of the body, in order (`width: int = 16`)
    c.fields = named(node.childForFieldName('body'))
      .map((st) => (st.type === 'expression_statement' ? named(st)[0] : undefined))
      .filter(
        (a): a is Node => a?.type === 'assignment' && !!a.childForFieldName('type') && a.childForFieldName('left')?.type === 'identifier',
      )
      .map((a) => a.childForFieldName('left')!.text);
  }
  ip.setName(name, { kind: 'class', c }, scope);
}

/** Callees whose result is a method or property, not an Enum member. */
const DESCRIPTORS = new Set(['staticmethod', 'classmethod', 'property']);

/**
 * Whether `name = right` in an Enum's body is a member whose value can wait for its first read: a
 * call (not a method's decorator), or another such member (`DEFAULT = IMAGENET1K_V1`).
 */
function enumMember(name: string, right: Node, deferred: ReadonlySet<string>): boolean {
  if (name.startsWith('_')) return false;
  if (right.type === 'call') return !DESCRIPTORS.has(right.childForFieldName('function')!.text);
  return right.type === 'identifier' && deferred.has(right.text);
}

/**
 * A class body, where the plain assignments `defer` names are computed when first read, not when
 * the class is defined. An Enum's members (`enumMember`): torchvision's weights enums
 * (`IMAGENET1K_V1 = Weights(url=..., transforms=partial(ImageClassification, ...), meta={...})`,
 * `DEFAULT = IMAGENET1K_V1`) pull in the transforms module and the 1,000 ImageNet categories for
 * members that a model built with the default `weights=None` never reads (140 of the 150 ms of
 * alexnet.py's top level); and any class's `__annotations__` (TorchScript's types: rpn.py's
 * `{"box_coder": det_utils.BoxCoder, ...}` ran the detection utilities and torchvision.ops, 170 ms).
 * Such a value is computed as the body would have: in the class namespace as the body left it (its
 * raw values, not an Enum's members), in the phase and file of the definition. The other
 * statements run in order, as in any class body.
 */
function classBody(
  ip: Interp,
  body: Node | null,
  scope: Scope,
  defer: (name: string, right: Node, deferred: ReadonlySet<string>) => boolean,
): void {
  // until the body ends, the class namespace is the raw one (read by a statement of the body itself)
  let raw: Scope = scope;
  const deferred = new Set<string>();
  const [phase, top] = [ip.phase, ip.topLevelOf];
  for (const stmt of named(body)) {
    const a = stmt.type === 'expression_statement' && stmt.namedChildCount === 1 ? named(stmt)[0] : undefined;
    const left = a?.type === 'assignment' && !a.childForFieldName('type') ? a.childForFieldName('left') : null;
    const right = a?.childForFieldName('right');
    if (left?.type !== 'identifier' || !right || !defer(left.text, right, deferred)) {
      // a body stops where a statement does not complete (a budget spent), as execBlock does
      if (ip.execStmt(stmt, scope).type !== 'normal') break;
      continue;
    }
    deferred.add(left.text);
    ip.setName(
      left.text,
      deferredValue(ip, left.text, phase, top, () => ip.eval(right, raw)),
      scope,
    );
  }
  raw = { ...scope, vars: new Map(scope.vars) };
}

/**
 * An Enum's plain class attributes are its members: instances of the class with `name` and
 * `value` (torchvision's weights enums: `ResNet50_Weights.IMAGENET1K_V1`, checked with isinstance).
 */
export function enumMembers(c: ClassObj): void {
  for (const [name, v] of c.attrs) {
    if (name.startsWith('_') || ['function', 'bound', 'class', 'native'].includes(v.kind)) continue;
    const attrs = new Map<string, V>([
      ['name', strV(name)],
      ['_name_', strV(name)],
      ['value', v],
      ['_value_', v],
    ]);
    c.attrs.set(name, { kind: 'object', o: { cls: c, attrs } });
  }
}

/**
 * The class order: the class, then its bases depth-first left to right, each class once (its last
 * place). Kept per class (its bases are fixed when it is defined): every method and attribute
 * lookup on a class walks it.
 */
export function mro(c: ClassObj): readonly (ClassObj | string)[] {
  let known = mros.get(c);
  if (known) return known;
  const out: (ClassObj | string)[] = [];
  const visit = (x: ClassObj | string, depth: number) => {
    if (depth > 30) return;
    out.push(x);
    if (typeof x === 'string') return;
    for (const b of x.bases) {
      if (b.kind === 'class') visit(b.c, depth + 1);
      else if (b.kind === 'lib') visit(canonical(b.path), depth + 1);
    }
  };
  visit(c, 0);
  known = out.filter((x, i) => out.lastIndexOf(x) === i);
  mros.set(c, known);
  return known;
}

const mros = new WeakMap<ClassObj, readonly (ClassObj | string)[]>();

/** The torch.nn class a user class derives from (`torch.nn.Module`, `torch.nn.Sequential`, ...), if any. */
export function nnBase(c: ClassObj): string | undefined {
  for (const x of mro(c)) if (typeof x === 'string' && isNnClass(x)) return x;
  return undefined;
}

/**
 * A class member seen from an instance (`self`) or the class: user methods are bound, static
 * methods not, properties are called. With `inheritedOnly` lookups stop at torch.nn bases.
 */
export function classMember(
  ip: Interp,
  c: ClassObj,
  name: string,
  self: V | undefined,
  at: Node,
  _instance = false,
  after?: ClassObj,
): V | undefined {
  let started = after === undefined;
  for (const x of mro(c)) {
    if (!started) {
      started = x === after;
      continue;
    }
    if (typeof x === 'string') continue;
    const found = x.attrs.get(name);
    if (found === undefined) continue;
    const v = found.kind === 'lazy' ? resolved(x.attrs, name, found) : found;
    // a class attribute is made with the class: a recorded build reading a mutable one is not remembered
    ip.memo.read(v, x.id);
    if (v.kind === 'function') {
      if (v.f.kind === 'staticmethod') return v;
      if (v.f.kind === 'classmethod') return { kind: 'bound', self: { kind: 'class', c }, f: v.f };
      if (v.f.kind === 'property') return self ? ip.callFunction(v.f, { args: [self], kwargs: new Map() }, at) : v;
      return self ? { kind: 'bound', self, f: v.f } : v;
    }
    return v;
  }
  return undefined;
}

export function superAttr(ip: Interp, s: V & { kind: 'super' }, name: string, at: Node): V {
  const self = s.self;
  const cls = self.kind === 'module' ? self.m.cls : self.kind === 'object' ? self.o.cls : self.kind === 'class' ? self.c : undefined;
  if (!cls) return ip.fail(at, '`super()` outside a method');
  const member = classMember(ip, cls, name, self.kind === 'class' ? undefined : self, at, true, s.after);
  if (member !== undefined) return member;
  // past the user classes: the torch.nn base
  const base = nnBase(cls);
  if (base && self.kind === 'module') {
    if (name === '__init__')
      return { kind: 'native', name: 'nn.__init__', self, partial: { args: [{ kind: 'lib', path: base }], kwargs: new Map() } };
    return nativeModuleAttribute(ip, self, name, at, true);
  }
  if (name === '__init__') {
    // a @dataclass base: its generated __init__
    const order = mro(cls);
    const data = order.slice(order.indexOf(s.after) + 1).find((x): x is ClassObj => typeof x !== 'string' && !!x.fields);
    if (data && self.kind === 'object')
      return { kind: 'native', name: 'dataclass.__init__', self, partial: { args: [{ kind: 'class', c: data }], kwargs: new Map() } };
    return { kind: 'native', name: 'builtins.noop' };
  }
  return ip.fail(at, `super() has no attribute \`${name}\``);
}

export function makeSuper(ip: Interp, argsNode: Node | null, scope: Scope, at: Node): V {
  const args = named(argsNode);
  if (args.length === 2) {
    const cls = ip.eval(args[0], scope);
    const self = ip.eval(args[1], scope);
    if (cls.kind === 'class') return { kind: 'super', self, after: cls.c };
    return ip.fail(at, '`super()` of a non-class');
  }
  let s: Scope | undefined = scope;
  while (s && !s.fn) s = s.parent;
  const owner = s?.fn?.owner;
  if (!owner || !s?.self) return ip.fail(at, '`super()` outside a method');
  return { kind: 'super', self: s.self, after: owner };
}

export function newModule(ip: Interp, cls: ClassObj | undefined, native: ModuleObj['native'], site: Node | undefined): ModuleObj {
  if (++ip.budget.modules > MAX_MODULES) ip.overBudget(`more than ${grouped(MAX_MODULES)} modules built for one model`);
  return {
    id: ip.newId(),
    cls,
    native,
    attrs: new Map(),
    modules: new Map(),
    params: new Map(),
    site: site
      ? {
          file: ip.fileOf(site),
          start: site.startIndex,
          end: site.endIndex,
          line: site.startPosition.row,
          column: site.startPosition.column,
        }
      : undefined,
    calls: [],
  };
}

export function instantiate(ip: Interp, c: ClassObj, a: CallArgs, at: Node): V {
  ip.invoked.add(c);
  const base = nnBase(c);
  if (base) {
    const construct = (): V => {
      const m = newModule(ip, c, undefined, at);
      const self: V = { kind: 'module', m };
      const init = classMember(ip, c, '__init__', self, at);
      if (init) ip.call(init, a, at);
      else if (base !== 'torch.nn.Module') initNative(ip, m, base, a, at);
      return self;
    };
    return ip.memo.build(ip, c, a, construct);
  }
  // enum, NamedTuple, exceptions and other plain classes: attributes only
  const o: V = { kind: 'object', o: { cls: c, attrs: new Map() } };
  const init = classMember(ip, c, '__init__', o, at);
  if (init) ip.call(init, a, at);
  else if (c.fields) {
    const err = dataclassInit(ip, c, o.o, a, at);
    if (err) return ip.fail(at, `${c.name}(): ${err}`);
    const post = classMember(ip, c, '__post_init__', o, at);
    if (post) ip.call(post, { args: [], kwargs: new Map() }, at);
  }
  return o;
}

/** The `__init__` a `@dataclass` gets: fields by position or keyword, else their defaults. */
export function dataclassInit(ip: Interp, c: ClassObj, o: { attrs: Map<string, V> }, a: CallArgs, at: Node): string | undefined {
  const fields = c.fields!;
  if (a.args.length > fields.length) return 'too many positional arguments';
  for (const k of a.kwargs.keys()) if (!fields.includes(k)) return `unexpected keyword argument \`${k}\``;
  for (const [i, f] of fields.entries()) {
    let v = i < a.args.length ? a.args[i] : a.kwargs.get(f);
    if (v === undefined) {
      const dflt = classMember(ip, c, f, undefined, at);
      if (dflt === undefined) return `missing argument \`${f}\``;
      if (dflt.kind === 'native' && dflt.name === 'dataclasses.field') {
        const factory = dflt.partial?.kwargs.get('default_factory');
        v = factory ? ip.call(factory, { args: [], kwargs: new Map() }, at) : dflt.partial?.kwargs.get('default');
        if (v === undefined) return `missing argument \`${f}\``;
      } else v = dflt;
    }
    o.attrs.set(f, v);
  }
  return undefined;
}
