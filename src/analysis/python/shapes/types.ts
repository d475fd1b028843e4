/**
 * Types of values as model code asks about them: `type(x)`, and `isinstance` / `issubclass` against
 * user classes, builtins, torch's tensors and modules (their families: `nn.Conv2d` is a `_ConvNd`)
 * and the abstract classes of `collections.abc` and `typing` that argument checks name
 * (`isinstance(block_setting, Sequence)`).
 */
import { canonical } from '../imports';
import type { Host } from './host';
import { NN_FAMILIES } from './torch/args';
import type { ClassObj, V } from './values';

/** `type(v)`, for the values whose type a model can read; undefined for the others. */
export function typeOf(v: V): V | undefined {
  if (v.kind === 'module')
    return v.m.cls ? { kind: 'class', c: v.m.cls } : { kind: 'lib', path: `torch.nn.${v.m.native?.type ?? 'Module'}` };
  if (v.kind === 'object') return { kind: 'class', c: v.o.cls };
  if (v.kind === 'tensor') return { kind: 'lib', path: 'torch.Tensor' };
  const plain = PLAIN_TYPES[v.kind];
  return plain ? { kind: 'native', name: `builtins.${plain}` } : undefined;
}

/** The Python type of each plain kind of value (`type(None)`: `NoneType`; a set is read as a list). */
const PLAIN_TYPES: Partial<Record<V['kind'], string>> = {
  int: 'int',
  float: 'float',
  bool: 'bool',
  str: 'str',
  none: 'NoneType',
  list: 'list',
  tuple: 'tuple',
  dict: 'dict',
};

/**
 * The abstract base classes of `collections.abc` (and their `typing` aliases) that model code
 * checks its arguments against, with the plain kinds of value that are instances of each
 * (`isinstance(block_setting, Sequence)` before a model is built).
 */
const ABSTRACT: Record<string, V['kind'][]> = {
  Sequence: ['list', 'tuple', 'str'],
  MutableSequence: ['list'],
  Mapping: ['dict'],
  MutableMapping: ['dict'],
  Iterable: ['list', 'tuple', 'dict', 'str'],
  Collection: ['list', 'tuple', 'dict', 'str'],
  Sized: ['list', 'tuple', 'dict', 'str'],
  Container: ['list', 'tuple', 'dict', 'str'],
};

/** isinstance / issubclass for modules, user objects, scalars and tensors; undefined when undecidable. */
export function isInstance(interp: Host, obj: V, cls: V, subclass: boolean): boolean | undefined {
  if (cls.kind === 'tuple' || cls.kind === 'list') {
    let unsure = false;
    for (const c of cls.items) {
      const r = isInstance(interp, obj, c, subclass);
      if (r) return true;
      if (r === undefined) unsure = true;
    }
    return unsure ? undefined : false;
  }
  if (obj.kind === 'unknown' || cls.kind === 'unknown') return undefined;
  const userClass: ClassObj | undefined = subclass
    ? obj.kind === 'class'
      ? obj.c
      : undefined
    : obj.kind === 'module'
      ? obj.m.cls
      : obj.kind === 'object'
        ? obj.o.cls
        : undefined;
  if (cls.kind === 'class') return userClass ? interp.mro(userClass).includes(cls.c) : false;
  const libPath =
    cls.kind === 'lib' ? canonical(cls.path) : cls.kind === 'native' && cls.name.startsWith('builtins.') ? cls.name : undefined;
  if (!libPath) return undefined;
  if (libPath.startsWith('builtins.')) {
    const t = libPath.slice(9);
    const kinds: Record<string, string[]> = {
      int: ['int', 'bool'],
      float: ['float'],
      bool: ['bool'],
      str: ['str'],
      list: ['list'],
      tuple: ['tuple'],
      dict: ['dict'],
      NoneType: ['none'],
      object: [],
    };
    if (t === 'object') return true;
    return kinds[t] ? kinds[t].includes(obj.kind) : false;
  }
  if (libPath === 'torch.Tensor' || libPath === 'torch.nn.Parameter' || libPath === 'torch.nn.parameter.Parameter') {
    return obj.kind === 'tensor' && (libPath === 'torch.Tensor' || !!obj.param);
  }
  const abc = /^(?:collections\.abc|typing)\.(\w+)$/.exec(libPath)?.[1];
  if (abc && ABSTRACT[abc] && !subclass) return PLAIN_TYPES[obj.kind] ? ABSTRACT[abc].includes(obj.kind) : undefined;
  if (!libPath.startsWith('torch.nn.')) return obj.kind === 'module' || obj.kind === 'tensor' ? false : undefined;
  const want = libPath.slice('torch.nn.'.length);
  let types: string[] = [];
  if (subclass && obj.kind === 'class') {
    const base = interp.nnBase(obj.c);
    types = base ? [base.slice('torch.nn.'.length)] : [];
  } else if (subclass && obj.kind === 'lib') {
    types = [canonical(obj.path).slice('torch.nn.'.length)];
  } else if (obj.kind === 'module') {
    if (want === 'Module') return true;
    types = [obj.m.native?.type ?? 'Module'];
    if (obj.m.cls) {
      const base = interp.nnBase(obj.m.cls);
      if (base) types.push(base.slice('torch.nn.'.length));
    }
  } else return false;
  if (want === 'Module') return types.length > 0;
  return types.some((t) => t === want || (NN_FAMILIES[want] ?? []).some((re) => re.test(t)));
}
