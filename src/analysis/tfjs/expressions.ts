/** The TensorFlow.js interpreter's expressions: names, arrays, objects, members, operators. */
import type { Node } from 'web-tree-sitter';
import { Poly } from '../poly';
import type { TfjsInterpreter } from './evaluate';
import { Env } from './scope';
import { line, named, short, stringValue, TRANSPARENT, unescape } from './syntax';
import { asNumber, asPoly, num, sameValue, truthy, UNDEFINED, unknown, whyNot, type Value } from './values';

export function evaluate(ti: TfjsInterpreter, node: Node, env: Env): Value {
  ti.tick();
  if (TRANSPARENT.has(node.type)) {
    const inner = named(node)[node.type === 'type_assertion' ? named(node).length - 1 : 0];
    return inner ? evaluate(ti, inner, env) : unknown('empty expression');
  }
  switch (node.type) {
    case 'number': {
      const v = Number(node.text.replace(/_/g, ''));
      if (Number.isSafeInteger(v)) return num(v);
      return { kind: 'float', value: v };
    }
    case 'string':
      return { kind: 'str', value: stringValue(node) };
    case 'template_string': {
      let out = '';
      for (const c of named(node)) {
        if (c.type === 'string_fragment' || c.type === 'escape_sequence') out += c.type === 'string_fragment' ? c.text : unescape(c.text);
        else if (c.type === 'template_substitution') {
          const v = evaluate(ti, named(c)[0], env);
          const n = asNumber(v);
          if (v.kind === 'str') out += v.value;
          else if (n !== undefined) out += String(n);
          else return unknown(`template \`${short(node)}\``);
        }
      }
      return { kind: 'str', value: out };
    }
    case 'true':
      return { kind: 'bool', value: true };
    case 'false':
      return { kind: 'bool', value: false };
    case 'null':
      return { kind: 'null' };
    case 'undefined':
      return UNDEFINED;
    case 'this': {
      const e = env.find('this');
      return e ? e.vars.get('this')!.value : unknown('`this` outside a class');
    }
    case 'identifier':
      return lookup(ti, node.text, env);
    case 'array':
      return evalArray(ti, node, env);
    case 'object':
      return evalObject(ti, node, env);
    case 'member_expression': {
      const obj = evaluate(ti, node.childForFieldName('object')!, env);
      const prop = node.childForFieldName('property')!;
      return member(ti, obj, prop.text);
    }
    case 'subscript_expression': {
      const obj = evaluate(ti, node.childForFieldName('object')!, env);
      const idx = evaluate(ti, node.childForFieldName('index')!, env);
      const i = asNumber(idx);
      if (obj.kind === 'array' && i !== undefined) {
        const k = i < 0 ? undefined : obj.items[i];
        return k ?? (obj.open ? unknown(obj.open) : UNDEFINED);
      }
      if (idx.kind === 'str' || i !== undefined) return member(ti, obj, idx.kind === 'str' ? idx.value : String(i));
      return unknown(`\`${short(node)}\``);
    }
    case 'call_expression':
      return ti.evalCall(node, env);
    case 'new_expression': {
      const ctor = evaluate(ti, node.childForFieldName('constructor')!, env);
      const args = ti.evalArgs(node.childForFieldName('arguments'), env);
      if (ctor.kind === 'class') return ti.construct(ctor, args, node);
      return unknown(`\`new ${short(node.childForFieldName('constructor')!)}\` is not followed`);
    }
    case 'arrow_function':
    case 'function_expression':
    case 'function':
    case 'generator_function':
      ti.closures.set(node.id, env);
      return { kind: 'function', node, env };
    case 'class':
      ti.closeOverMethods(node, env);
      return { kind: 'class', node, env };
    case 'binary_expression':
      return binaryExpression(ti, node, env);
    case 'unary_expression': {
      const op = node.childForFieldName('operator')!.text;
      const v = evaluate(ti, node.childForFieldName('argument')!, env);
      if (op === '-') {
        const p = asPoly(v);
        if (p && v.kind !== 'float') return { kind: 'num', poly: p.neg() };
        if (v.kind === 'float') return { kind: 'float', value: -v.value };
        return unknown(`\`${short(node)}\``);
      }
      if (op === '+') return asNumber(v) !== undefined || v.kind === 'sym' ? v : unknown(`\`${short(node)}\``);
      if (op === '!') {
        const t = truthy(v);
        return t === undefined ? unknown(`\`${short(node)}\``) : { kind: 'bool', value: !t };
      }
      if (op === 'void') return UNDEFINED;
      return unknown(`\`${short(node)}\``);
    }
    case 'ternary_expression': {
      const c = truthy(evaluate(ti, node.childForFieldName('condition')!, env));
      if (c !== undefined) return evaluate(ti, node.childForFieldName(c ? 'consequence' : 'alternative')!, env);
      const a = evaluate(ti, node.childForFieldName('consequence')!, env);
      const b = evaluate(ti, node.childForFieldName('alternative')!, env);
      if (sameValue(a, b)) return a;
      return unknown(`the condition of \`${short(node)}\` is not known`);
    }
    case 'assignment_expression': {
      const { value, notes } = ti.withNotes(() => evaluate(ti, node.childForFieldName('right')!, env));
      ti.bindPattern(node.childForFieldName('left')!, value, notes, env, 'assign');
      return value;
    }
    case 'augmented_assignment_expression': {
      const left = node.childForFieldName('left')!;
      const op = node.childForFieldName('operator')!.text.slice(0, -1);
      const cur = evaluate(ti, left, env);
      const right = evaluate(ti, node.childForFieldName('right')!, env);
      const v = op === '&&' || op === '||' || op === '??' ? logical(op, cur, () => right) : arith(op, cur, right, node);
      ti.bindPattern(left, v, [], env, 'assign');
      return v;
    }
    case 'update_expression': {
      const arg = node.childForFieldName('argument')!;
      const cur = evaluate(ti, arg, env);
      const op = node.text.includes('++') ? '+' : '-';
      const v = arith(op, cur, num(1), node);
      ti.bindPattern(arg, v, [], env, 'assign');
      return node.text.trim().startsWith(op + op) ? v : cur;
    }
    case 'sequence_expression': {
      let v: Value = UNDEFINED;
      for (const c of named(node)) v = evaluate(ti, c, env);
      return v;
    }
    case 'spread_element':
      return evaluate(ti, named(node)[0], env);
    default:
      return unknown(`\`${short(node)}\` is not followed`);
  }
}

export function lookup(ti: TfjsInterpreter, name: string, env: Env): Value {
  const e = env.find(name)?.vars.get(name);
  if (e) {
    ti.emit(e.notes);
    return e.value;
  }
  switch (name) {
    case 'undefined':
      return UNDEFINED;
    case 'NaN':
      return { kind: 'float', value: NaN };
    case 'Infinity':
      return { kind: 'float', value: Infinity };
    case 'Math':
    case 'Number':
    case 'parseInt':
    case 'parseFloat':
    case 'require':
    case 'Object':
      return { kind: 'builtin', name };
  }
  return ti.userValue(name) ?? unknown(`\`${name}\` is not defined in this file`);
}

export function evalArray(ti: TfjsInterpreter, node: Node, env: Env): Value {
  const items: Value[] = [];
  let open: string | undefined;
  for (const c of named(node)) {
    if (c.type === 'spread_element') {
      const v = evaluate(ti, named(c)[0], env);
      if (v.kind === 'array') {
        items.push(...v.items);
        open ??= v.open;
      } else open ??= `\`${short(c)}\` is not a known array`;
    } else items.push(evaluate(ti, c, env));
  }
  return { kind: 'array', items, open };
}

export function evalObject(ti: TfjsInterpreter, node: Node, env: Env): Value {
  const props = new Map<string, Value>();
  let open: string | undefined;
  for (const c of named(node)) {
    switch (c.type) {
      case 'pair': {
        const key = c.childForFieldName('key')!;
        const k =
          key.type === 'computed_property_name'
            ? evaluate(ti, named(key)[0], env)
            : { kind: 'str' as const, value: key.type === 'string' ? stringValue(key) : key.text };
        const v = evaluate(ti, c.childForFieldName('value')!, env);
        const ks = k.kind === 'str' ? k.value : asNumber(k) !== undefined ? String(asNumber(k)) : undefined;
        if (ks === undefined) open ??= `the computed key \`${short(key)}\` is not known`;
        else {
          props.delete(ks);
          props.set(ks, v);
        }
        break;
      }
      case 'shorthand_property_identifier':
        props.delete(c.text);
        props.set(c.text, lookup(ti, c.text, env));
        break;
      case 'spread_element': {
        const v = evaluate(ti, named(c)[0], env);
        if (v.kind === 'object') {
          for (const [k, x] of v.props) {
            props.delete(k);
            props.set(k, x);
          }
          open ??= v.open;
        } else if (v.kind === 'null' || v.kind === 'undefined') {
          // spreading nothing
        } else {
          // keys written before an unknown spread may be overridden by it
          const why = `the keys of \`...${short(named(c)[0])}\` are not known (${whyNot(v, 'it')})`;
          for (const k of props.keys()) props.set(k, unknown(why));
          open = why;
        }
        break;
      }
      case 'method_definition': {
        const name = c.childForFieldName('name')?.text;
        ti.closures.set(c.id, env);
        if (name) props.set(name, { kind: 'function', node: c, env });
        break;
      }
      default:
        break;
    }
  }
  return { kind: 'object', props, open };
}

/** `value.name` */
export function member(ti: TfjsInterpreter, obj: Value, name: string): Value {
  switch (obj.kind) {
    case 'object':
      return obj.props.get(name) ?? (obj.open ? unknown(obj.open) : UNDEFINED);
    case 'array':
      if (name === 'length') return obj.open ? unknown(obj.open) : num(obj.items.length);
      if (/^\d+$/.test(name)) return obj.items[Number(name)] ?? (obj.open ? unknown(obj.open) : UNDEFINED);
      return { kind: 'builtin', name: `Array.${name}`, receiver: obj };
    case 'str':
      return name === 'length' ? num(obj.value.length) : { kind: 'builtin', name: `String.${name}`, receiver: obj };
    case 'ns':
      return { kind: 'ns', path: obj.path ? `${obj.path}.${name}` : name };
    case 'builtin':
      if (obj.name === 'Math' && name === 'PI') return { kind: 'float', value: Math.PI };
      return { kind: 'builtin', name: `${obj.name}.${name}` };
    case 'tensor': {
      const s = obj.tensor.shape;
      if (name === 'shape')
        return s.shape
          ? {
              kind: 'array',
              items: [
                { kind: 'null' },
                ...s.shape.dims.map((d): Value => (d ? { kind: 'num', poly: d } : unknown('a dimension the model leaves open'))),
              ],
            }
          : unknown(s.why);
      if (name === 'rank') return s.shape ? num(s.shape.dims.length + 1) : unknown(s.why);
      return unknown(`tensor property \`${name}\``);
    }
    case 'model':
      if (name === 'layers')
        return { kind: 'array', items: obj.model.layers.map((inst) => ({ kind: 'layer', inst })), open: obj.model.uncertain };
      return { kind: 'builtin', name: `Model.${name}`, receiver: obj };
    case 'layer':
      return { kind: 'builtin', name: `Layer.${name}`, receiver: obj };
    case 'sym':
      return ti.userValue(`${obj.name}.${name}`) ?? { kind: 'sym', name: `${obj.name}.${name}`, why: obj.why };
    case 'function':
      return { kind: 'builtin', name: `Function.${name}`, receiver: obj };
    case 'unknown':
      return obj;
    default:
      return unknown(`\`.${name}\` of ${obj.kind}`);
  }
}

export function assignMember(ti: TfjsInterpreter, target: Node, value: Value, env: Env): void {
  const objNode = target.childForFieldName('object')!;
  const obj = evaluate(ti, objNode, env);
  let key: string | undefined;
  if (target.type === 'member_expression') key = target.childForFieldName('property')!.text;
  else {
    const idx = evaluate(ti, target.childForFieldName('index')!, env);
    key = idx.kind === 'str' ? idx.value : asNumber(idx) !== undefined ? String(asNumber(idx)) : undefined;
  }
  const uncertain = ti.uncertain[ti.uncertain.length - 1];
  if (obj.kind === 'object') {
    if (key === undefined) {
      obj.open ??= `a key assigned at line ${line(target)} is not known`;
      return;
    }
    const prev = obj.props.get(key);
    obj.props.set(key, uncertain && prev && !sameValue(prev, value) ? unknown(`\`${short(target)}\` depends on ${uncertain}`) : value);
  } else if (obj.kind === 'array' && key !== undefined && /^\d+$/.test(key)) {
    obj.items[Number(key)] = uncertain ? unknown(`\`${short(target)}\` is set where ${uncertain}`) : value;
  }
}

export function logical(op: string, left: Value, right: () => Value): Value {
  const t = truthy(left);
  if (op === '??') {
    if (left.kind === 'null' || left.kind === 'undefined') return right();
    if (left.kind === 'unknown' || left.kind === 'sym') return left;
    return left;
  }
  if (t === undefined) return left.kind === 'unknown' ? left : unknown('a condition is not known');
  if (op === '&&') return t ? right() : left;
  return t ? left : right();
}

export function binaryExpression(ti: TfjsInterpreter, node: Node, env: Env): Value {
  const op = node.childForFieldName('operator')!.text;
  const left = evaluate(ti, node.childForFieldName('left')!, env);
  const rightNode = node.childForFieldName('right')!;
  if (op === '&&' || op === '||' || op === '??') return logical(op, left, () => evaluate(ti, rightNode, env));
  const right = evaluate(ti, rightNode, env);
  return arith(op, left, right, node);
}

function arith(op: string, left: Value, right: Value, node: Node): Value {
  const ln = asNumber(left);
  const rn = asNumber(right);
  const lp = left.kind === 'float' ? undefined : asPoly(left);
  const rp = right.kind === 'float' ? undefined : asPoly(right);
  const numOut = (v: number): Value => (Number.isSafeInteger(v) ? num(v) : { kind: 'float', value: v });
  const opaque = (): Value =>
    left.kind === 'unknown' ? left : right.kind === 'unknown' ? right : { kind: 'num', poly: Poly.sym(node.text.replace(/\s+/g, ' ')) };
  if (op === '+' && (left.kind === 'str' || right.kind === 'str')) {
    const text = (v: Value) => (v.kind === 'str' ? v.value : asNumber(v) !== undefined ? String(asNumber(v)) : undefined);
    const a = text(left);
    const b = text(right);
    return a !== undefined && b !== undefined ? { kind: 'str', value: a + b } : unknown(`\`${short(node)}\``);
  }
  if (ln !== undefined && rn !== undefined) {
    switch (op) {
      case '+':
        return numOut(ln + rn);
      case '-':
        return numOut(ln - rn);
      case '*':
        return numOut(ln * rn);
      case '/':
        return numOut(ln / rn);
      case '%':
        return numOut(ln % rn);
      case '**':
        return numOut(ln ** rn);
      case '|':
        return numOut(ln | rn);
      case '<':
        return { kind: 'bool', value: ln < rn };
      case '>':
        return { kind: 'bool', value: ln > rn };
      case '<=':
        return { kind: 'bool', value: ln <= rn };
      case '>=':
        return { kind: 'bool', value: ln >= rn };
      case '===':
      case '==':
        return { kind: 'bool', value: ln === rn };
      case '!==':
      case '!=':
        return { kind: 'bool', value: ln !== rn };
    }
  }
  if (op === '===' || op === '==' || op === '!==' || op === '!=') {
    // null/undefined against something that exists (an object, a layer, a string, ...)
    const nullish = (v: Value) => v.kind === 'null' || v.kind === 'undefined';
    const exists = (v: Value) => v.kind !== 'null' && v.kind !== 'undefined' && v.kind !== 'unknown' && v.kind !== 'sym';
    if ((nullish(left) && exists(right)) || (exists(left) && nullish(right))) return { kind: 'bool', value: op.startsWith('!') };
    const known = (v: Value) =>
      v.kind === 'str' || v.kind === 'bool' || v.kind === 'null' || v.kind === 'undefined' || asNumber(v) !== undefined;
    if (known(left) && known(right)) {
      const loose =
        op.length === 2 && (left.kind === 'null' || left.kind === 'undefined') && (right.kind === 'null' || right.kind === 'undefined');
      const eq = loose || sameValue(left, right);
      return { kind: 'bool', value: op.startsWith('=') ? eq : !eq };
    }
    return unknown(`the comparison \`${short(node)}\` is not known`);
  }
  if (lp && rp) {
    switch (op) {
      case '+':
        return { kind: 'num', poly: lp.add(rp) };
      case '-':
        return { kind: 'num', poly: lp.sub(rp) };
      case '*':
        return { kind: 'num', poly: lp.mul(rp) };
      case '/': {
        const q = lp.divBy(rp);
        return q ? { kind: 'num', poly: q } : opaque();
      }
      case '**': {
        const e = rp.constant;
        return e !== undefined && Number.isInteger(e) && e >= 0 && e <= 8 ? { kind: 'num', poly: lp.pow(e) } : opaque();
      }
      case '%':
      case '|':
        return opaque();
    }
  }
  if (left.kind === 'unknown') return left;
  if (right.kind === 'unknown') return right;
  return unknown(`\`${short(node)}\` is not known`);
}
