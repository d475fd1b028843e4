/** The TensorFlow.js interpreter's bindings and functions: destructuring patterns, symbolic parameters, calls of the file's functions and classes. */
import type { Node } from 'web-tree-sitter';
import { TFJS_MAX_DEPTH as MAX_DEPTH } from '../kernel/budget';
import type { Completion, TfjsInterpreter } from './evaluate';
import { type Entry, Env } from './scope';
import { fnName, isParameterProperty, line, named, short } from './syntax';
import { sameValue, UNDEFINED, unknown, type Value } from './values';

export function bindPattern(ti: TfjsInterpreter, p: Node, value: Value, notes: string[], env: Env, mode: 'declare' | 'assign'): void {
  const set = (name: string, v: Value, n: string[]) => {
    if (mode === 'declare') env.vars.set(name, { value: v, notes: n });
    else assign(ti, name, { value: v, notes: n }, env);
  };
  switch (p.type) {
    case 'identifier':
    case 'shorthand_property_identifier_pattern':
      set(p.text, value, notes);
      return;
    case 'object_pattern':
      for (const c of named(p)) {
        if (c.type === 'shorthand_property_identifier_pattern') set(c.text, ti.member(value, c.text), notes);
        else if (c.type === 'object_assignment_pattern') {
          const left = c.childForFieldName('left')!;
          let v = ti.member(value, left.text);
          if (v.kind === 'undefined') v = ti.eval(c.childForFieldName('right')!, env);
          bindPattern(ti, left, v, notes, env, mode);
        } else if (c.type === 'pair_pattern') {
          const key = c.childForFieldName('key')!;
          const k =
            key.type === 'computed_property_name'
              ? ti.eval(named(key)[0], env)
              : { kind: 'str' as const, value: key.text.replace(/^['"]|['"]$/g, '') };
          const v = k.kind === 'str' ? ti.member(value, k.value) : unknown(`computed key \`${key.text}\``);
          bindPattern(ti, c.childForFieldName('value')!, v, notes, env, mode);
        } else if (c.type === 'rest_pattern') {
          const id = named(c)[0];
          if (id)
            bindPattern(
              ti,
              id,
              value.kind === 'object' ? { kind: 'object', props: new Map(value.props), open: value.open } : unknown('rest of an object'),
              notes,
              env,
              mode,
            );
        }
      }
      return;
    case 'array_pattern':
      named(p).forEach((c, i) => {
        const item = value.kind === 'array' && !value.open ? (value.items[i] ?? UNDEFINED) : unknown(`element ${i} of \`${short(p)}\``);
        if (c.type === 'rest_pattern') {
          const id = named(c)[0];
          if (id)
            bindPattern(
              ti,
              id,
              value.kind === 'array' ? { kind: 'array', items: value.items.slice(i), open: value.open } : unknown('rest of an array'),
              notes,
              env,
              mode,
            );
        } else bindPattern(ti, c, item, notes, env, mode);
      });
      return;
    case 'assignment_pattern': {
      const v = value.kind === 'undefined' ? ti.eval(p.childForFieldName('right')!, env) : value;
      bindPattern(ti, p.childForFieldName('left')!, v, notes, env, mode);
      return;
    }
    case 'member_expression':
    case 'subscript_expression':
      ti.assignMember(p, value, env);
      return;
    default:
      return;
  }
}

export function assign(ti: TfjsInterpreter, name: string, entry: Entry, env: Env): void {
  const target = env.find(name) ?? ti.module;
  target.vars.set(name, entry);
}

/** Parameters of a function run on its own: user values, then defaults (noted), else symbols. */
export function bindSymbolicParam(ti: TfjsInterpreter, p: Node, env: Env, fn: string): void {
  const declare = (name: string, v: Value, notes: string[] = []): void => {
    env.vars.set(name, { value: v, notes });
  };
  const sym = (name: string): Value => ({ kind: 'sym', name, why: `a parameter of ${fn}()` });
  const withDefault = (name: string, dflt: Node | null | undefined): void => {
    const user = ti.withNotes(() => ti.userValue(name));
    if (user.value) return declare(name, user.value, user.notes);
    if (!dflt) return declare(name, sym(name));
    const v = ti.eval(dflt, env);
    declare(name, v, [`${name}=${dflt.text.replace(/\s+/g, ' ')} (default of ${fn}())`]);
  };
  // TypeScript wraps parameters: required_parameter / optional_parameter {pattern, value}
  const pattern = p.type === 'required_parameter' || p.type === 'optional_parameter' ? p.childForFieldName('pattern')! : p;
  const dflt = p.type === 'required_parameter' || p.type === 'optional_parameter' ? p.childForFieldName('value') : undefined;
  const target = pattern.type === 'assignment_pattern' ? pattern.childForFieldName('left')! : pattern;
  const dfltNode = pattern.type === 'assignment_pattern' ? pattern.childForFieldName('right') : dflt;
  if (target.type === 'identifier') return withDefault(target.text, dfltNode);
  if (target.type === 'object_pattern') {
    for (const c of named(target)) {
      if (c.type === 'shorthand_property_identifier_pattern') withDefault(c.text, undefined);
      else if (c.type === 'object_assignment_pattern') {
        const left = c.childForFieldName('left')!;
        if (left.type === 'shorthand_property_identifier_pattern' || left.type === 'identifier')
          withDefault(left.text, c.childForFieldName('right'));
      } else if (c.type === 'pair_pattern') {
        const value = c.childForFieldName('value')!;
        if (value.type === 'identifier') withDefault(value.text, undefined);
        else if (value.type === 'assignment_pattern' && value.childForFieldName('left')?.type === 'identifier')
          withDefault(value.childForFieldName('left')!.text, value.childForFieldName('right'));
      }
    }
    return;
  }
  if (target.type === 'rest_pattern') {
    const id = named(target)[0];
    if (id?.type === 'identifier') declare(id.text, unknown(`\`${id.text}\` collects the rest of the arguments of ${fn}()`));
  }
}

export function closeOverMethods(ti: TfjsInterpreter, cls: Node, env: Env): void {
  const body = cls.childForFieldName('body');
  for (const m of named(body)) if (m.type === 'method_definition') ti.closures.set(m.id, env);
}

export function callFunction(
  ti: TfjsInterpreter,
  fn: Value & { kind: 'function' },
  args: Entry[],
  thisValue: Value | undefined,
  at: Node,
): Value {
  if (ti.depth >= MAX_DEPTH) return unknown(`calls nested too deeply at line ${line(at)}`);
  const node = fn.node;
  const env = new Env(fn.env as Env);
  const self = thisValue ?? fn.thisValue;
  if (node.type !== 'arrow_function') env.vars.set('this', { value: self ?? UNDEFINED, notes: [] });
  const params = node.childForFieldName('parameters') ?? node.childForFieldName('parameter');
  const list = params ? (params.type === 'formal_parameters' ? named(params) : [params]) : [];
  list.forEach((p, i) => {
    const pattern = p.type === 'required_parameter' || p.type === 'optional_parameter' ? p.childForFieldName('pattern')! : p;
    const dflt = p.type === 'required_parameter' || p.type === 'optional_parameter' ? p.childForFieldName('value') : undefined;
    if (pattern.type === 'rest_pattern') {
      const id = named(pattern)[0];
      if (id)
        bindPattern(
          ti,
          id,
          { kind: 'array', items: args.slice(i).map((a) => a.value) },
          args.slice(i).flatMap((a) => a.notes),
          env,
          'declare',
        );
      return;
    }
    let arg = args[i] ?? { value: UNDEFINED, notes: [] };
    if (arg.value.kind === 'undefined' && dflt) arg = { value: ti.eval(dflt, env), notes: [] };
    bindPattern(ti, pattern, arg.value, arg.notes, env, 'declare');
    if (isParameterProperty(p) && self?.kind === 'object' && pattern.type === 'identifier') self.props.set(pattern.text, arg.value);
  });
  ti.depth++;
  try {
    return runBody(ti, node, env);
  } finally {
    ti.depth--;
  }
}

export function runBody(ti: TfjsInterpreter, node: Node, env: Env): Value {
  ti.evaluated.add(node.id);
  const body = node.childForFieldName('body');
  if (!body) return UNDEFINED;
  if (body.type !== 'statement_block') return ti.eval(body, env);
  ti.possibleReturns.push([]);
  let c: Completion;
  let possible: Value[];
  try {
    c = ti.block(body, env);
  } finally {
    possible = ti.possibleReturns.pop()!;
  }
  const final = c.type === 'return' ? c.value : UNDEFINED;
  if (possible.length === 0) return final;
  const all = [...possible, final];
  return all.every((v) => sameValue(v, final)) ? final : unknown(`${fnName(node)}() returns different values depending on a condition`);
}

export function construct(ti: TfjsInterpreter, cls: Value & { kind: 'class' }, args: Entry[], at: Node): Value {
  const self: Value = { kind: 'object', props: new Map() };
  const body = cls.node.childForFieldName('body');
  for (const m of named(body)) {
    if (m.type !== 'method_definition') continue;
    const name = m.childForFieldName('name')?.text;
    if (!name || name === 'constructor') continue;
    self.props.set(name, { kind: 'function', node: m, env: cls.env, thisValue: self });
  }
  if (cls.node.childForFieldName('superclass') || named(cls.node).some((c) => c.type === 'class_heritage'))
    self.open = `\`${cls.node.childForFieldName('name')?.text ?? 'class'}\` extends another class`;
  const ctor = named(body).find((m) => m.type === 'method_definition' && m.childForFieldName('name')?.text === 'constructor');
  if (ctor) callFunction(ti, { kind: 'function', node: ctor, env: cls.env }, args, self, at);
  return self;
}
