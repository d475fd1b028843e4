/** The TensorFlow.js interpreter's calls: arguments, callees, methods and the JavaScript builtins it models. */
import type { Node } from 'web-tree-sitter';
import type { TfjsInterpreter } from './evaluate';
import { TFJS_PACKAGE } from './imports';
import { type Entry, Env } from './scope';
import { line, named, short, TRANSPARENT } from './syntax';
import { asNumber, asPoly, num, sameShape, UNDEFINED, unknown, whyNot, type Value } from './values';

export function evalArgs(ti: TfjsInterpreter, args: Node | null, env: Env): Entry[] {
  if (!args || args.type !== 'arguments') return [];
  const out: Entry[] = [];
  for (const a of named(args)) {
    const { value, notes } = ti.withNotes(() => ti.eval(a, env));
    if (a.type === 'spread_element' && value.kind === 'array' && !value.open) out.push(...value.items.map((v) => ({ value: v, notes })));
    else if (a.type === 'spread_element') out.push({ value: unknown(`\`${short(a)}\``), notes });
    else out.push({ value, notes });
  }
  return out;
}

export function evalCall(ti: TfjsInterpreter, node: Node, env: Env): Value {
  const fnNode = node.childForFieldName('function')!;
  const argsNode = node.childForFieldName('arguments');
  ti.visited.add(node.id);
  const inner = TRANSPARENT.has(fnNode.type) ? (named(fnNode)[0] ?? fnNode) : fnNode;
  if (inner.type === 'member_expression') {
    const obj = ti.eval(inner.childForFieldName('object')!, env);
    const name = inner.childForFieldName('property')!.text;
    const args = evalArgs(ti, argsNode, env);
    return callMethod(ti, obj, name, args, node, env);
  }
  if (inner.type === 'import') {
    const args = evalArgs(ti, argsNode, env);
    const src = args[0]?.value;
    return src?.kind === 'str' && TFJS_PACKAGE.test(src.value) ? { kind: 'ns', path: '' } : unknown('a dynamic import');
  }
  const callee = ti.eval(inner, env);
  const args = evalArgs(ti, argsNode, env);
  return invoke(ti, callee, args, node, undefined, env);
}

export function invoke(ti: TfjsInterpreter, callee: Value, args: Entry[], node: Node, thisValue: Value | undefined, env: Env): Value {
  switch (callee.kind) {
    case 'function':
      return ti.callFunction(callee, args, thisValue, node);
    case 'ns':
      return ti.callTfjs(
        callee.path,
        args,
        node,
        args.flatMap((a) => a.notes),
      );
    case 'builtin':
      return builtin(ti, callee, args, node, env);
    default:
      return unknown(`\`${short(node.childForFieldName('function') ?? node)}\` is not followed (${whyNot(callee, 'the callee')})`);
  }
}

export function callMethod(ti: TfjsInterpreter, obj: Value, name: string, args: Entry[], node: Node, env: Env): Value {
  if (obj.kind === 'object') {
    const f = obj.props.get(name);
    if (f) return invoke(ti, f, args, node, obj, env);
  }
  return invoke(ti, ti.member(obj, name), args, node, obj, env);
}

export function builtin(ti: TfjsInterpreter, b: Value & { kind: 'builtin' }, args: Entry[], node: Node, env: Env): Value {
  const a = args.map((x) => x.value);
  const nums = a.map(asNumber);
  const allNums = nums.length > 0 && nums.every((n) => n !== undefined);
  const numOut = (v: number): Value => (Number.isSafeInteger(v) ? num(v) : { kind: 'float', value: v });
  switch (b.name) {
    case 'require': {
      const src = a[0];
      return src?.kind === 'str' && TFJS_PACKAGE.test(src.value) ? { kind: 'ns', path: '' } : unknown(`\`${short(node)}\` is not followed`);
    }
    case 'Math.floor':
    case 'Math.ceil':
    case 'Math.round':
    case 'Math.trunc':
    case 'Math.abs':
    case 'Math.sqrt':
      if (allNums) return numOut(Math[b.name.slice(5) as 'floor'](nums[0]));
      if (b.name !== 'Math.sqrt' && b.name !== 'Math.abs' && a[0] && asPoly(a[0]) && a[0].kind !== 'float') return a[0];
      break;
    case 'Math.max':
    case 'Math.min':
    case 'Math.pow':
      if (allNums) return numOut(Math[b.name.slice(5) as 'max'](...nums));
      break;
    case 'Number':
    case 'parseInt':
    case 'parseFloat':
      if (a[0]?.kind === 'str') return numOut(Number(a[0].value));
      if (a[0] && (asNumber(a[0]) !== undefined || a[0].kind === 'sym')) return a[0];
      break;
    case 'Layer.apply':
      return b.receiver?.kind === 'layer' ? ti.applyLayer(b.receiver.inst, a[0] ?? UNDEFINED, node) : unknown('apply');
    case 'Model.add':
      if (b.receiver?.kind === 'model') ti.addToModel(b.receiver.model, a[0] ?? UNDEFINED, node);
      return UNDEFINED;
    case 'Model.apply': {
      // a model used as a layer: its output, when it was built for an input of the same shape
      const m = b.receiver?.kind === 'model' ? b.receiver.model : undefined;
      const x = a[0];
      const history = x?.kind === 'tensor' ? x.tensor.history : [];
      const fits =
        m?.output?.shape.shape && m.input && x?.kind === 'tensor' && (!m.input.shape.shape || sameShape(m.input.shape, x.tensor.shape));
      if (m && fits && !m.uncertain)
        return { kind: 'tensor', tensor: { shape: m.output!.shape, history: [...new Set([...history, ...m.layers])] } };
      return {
        kind: 'tensor',
        tensor: {
          shape: {
            why: `channels unknown after the model used as a layer at line ${line(node)} (${m?.uncertain ?? 'its input or output shape is not known'})`,
          },
          history,
        },
      };
    }
    case 'Array.push':
      if (b.receiver?.kind === 'array') {
        const why = ti.uncertain[ti.uncertain.length - 1];
        b.receiver.items.push(...a.map((v) => (why ? unknown(`an item pushed at line ${line(node)}, where ${why}`) : v)));
        return num(b.receiver.items.length);
      }
      break;
    case 'Array.map':
    case 'Array.forEach':
      if (b.receiver?.kind === 'array' && !b.receiver.open && a[0]?.kind === 'function') {
        const f = a[0];
        const out = b.receiver.items.map((item, i) =>
          ti.callFunction(
            f,
            [
              { value: item, notes: [] },
              { value: num(i), notes: [] },
            ],
            undefined,
            node,
          ),
        );
        return b.name === 'Array.map' ? { kind: 'array', items: out } : UNDEFINED;
      }
      if (a[0]?.kind === 'function') {
        const recv = b.receiver;
        return withUnknownLoop(
          ti,
          node,
          () =>
            ti.callFunction(
              a[0] as Value & { kind: 'function' },
              [{ value: unknown(`an item of \`${recv ? short(node) : '?'}\``), notes: [] }],
              undefined,
              node,
            ),
          env,
        );
      }
      break;
    case 'Array.concat':
      if (b.receiver?.kind === 'array') {
        const items = [...b.receiver.items];
        let open = b.receiver.open;
        for (const x of a) {
          if (x.kind === 'array') {
            items.push(...x.items);
            open ??= x.open;
          } else items.push(x);
        }
        return { kind: 'array', items, open };
      }
      break;
    case 'Array.slice':
      if (b.receiver?.kind === 'array' && !b.receiver.open && nums.every((n) => n !== undefined))
        return { kind: 'array', items: b.receiver.items.slice(...nums) };
      break;
    case 'Array.fill':
    case 'Array.reverse':
      break;
    case 'Object.assign':
      if (a[0]?.kind === 'object') {
        for (const src of a.slice(1)) {
          if (src.kind === 'object') for (const [k, v] of src.props) a[0].props.set(k, v);
          else a[0].open ??= `\`${short(node)}\` copies unknown keys`;
        }
        return a[0];
      }
      break;
    default:
      break;
  }
  // tfjs methods that return nothing to follow (compile, summary, fit, predict, ...)
  return unknown(`\`${short(node.childForFieldName('function') ?? node)}(...)\` is not followed`);
}

export function withUnknownLoop(ti: TfjsInterpreter, node: Node, f: () => Value, _env: Env): Value {
  const why = `line ${line(node)}`;
  ti.uncertain.push(`the callback at ${why} runs an unknown number of times`);
  ti.loops.push(why);
  try {
    f();
  } finally {
    ti.uncertain.pop();
    ti.loops.pop();
  }
  return unknown(`the result of the callback at ${why}`);
}
