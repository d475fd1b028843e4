/**
 * Integer polynomials over named symbols, for channel counts and costs that depend on values the
 * source does not fix (`features * 4` with `features` a constructor parameter).
 *
 *   Poly.sym('features').mulConst(4).mul(Poly.sym('features').mulConst(8)).mulConst(9)
 *     -> 288·features²
 */

/**
 * A monomial key: symbols with exponents, sorted; '' is the constant term. Symbol names may be any
 * text (`in_channels // 2` is an opaque symbol), so the separators are control characters.
 */
type MonoKey = string;
const TIMES = '\u0001';
const POWER = '\u0002';

function parseKey(key: MonoKey): Map<string, number> {
  const out = new Map<string, number>();
  if (key === '') return out;
  for (const part of key.split(TIMES)) {
    const [name, exp] = part.split(POWER);
    out.set(name, exp === undefined ? 1 : Number(exp));
  }
  return out;
}

function makeKey(powers: Map<string, number>): MonoKey {
  return [...powers.entries()]
    .filter(([, e]) => e !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, e]) => (e === 1 ? n : `${n}${POWER}${e}`))
    .join(TIMES);
}

function mulKeys(a: MonoKey, b: MonoKey): MonoKey {
  if (a === '') return b;
  if (b === '') return a;
  const p = parseKey(a);
  for (const [n, e] of parseKey(b)) p.set(n, (p.get(n) ?? 0) + e);
  return makeKey(p);
}

function degree(key: MonoKey): number {
  let d = 0;
  for (const e of parseKey(key).values()) d += e;
  return d;
}

const SUPERSCRIPT: Record<string, string> = {
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};

const NO_TERMS: ReadonlyMap<MonoKey, number> = new Map();

export class Poly {
  /**
   * @param termMap coefficient per monomial (zero coefficients are never stored); undefined for
   *   the constant `num`: most polynomials are plain numbers (every conv of a model run prices its
   *   instances with them), and those cost no Map. (The server's `revive` knows these two fields.)
   */
  private constructor(
    private readonly termMap: ReadonlyMap<MonoKey, number> | undefined,
    private readonly num = 0,
  ) {}

  private get terms(): ReadonlyMap<MonoKey, number> {
    return this.termMap ?? (this.num === 0 ? NO_TERMS : new Map([['', this.num]]));
  }

  static const(n: number): Poly {
    // no negative zero: -0 and 0 are one polynomial
    return new Poly(undefined, n === 0 ? 0 : n);
  }

  /** A polynomial of these terms; a constant one as the plain number. */
  private static of(t: Map<MonoKey, number>): Poly {
    if (t.size === 0) return Poly.ZERO;
    if (t.size === 1 && t.has('')) return Poly.const(t.get('')!);
    return new Poly(t);
  }

  static sym(name: string): Poly {
    return new Poly(new Map([[name, 1]]));
  }

  static readonly ZERO = Poly.const(0);
  static readonly ONE = Poly.const(1);

  /** The value when the polynomial has no symbols, else undefined. */
  get constant(): number | undefined {
    // a polynomial with terms holds a symbol: `of` makes every other one a plain number
    return this.termMap ? undefined : this.num;
  }

  get isConstant(): boolean {
    return this.constant !== undefined;
  }

  /** Symbols that occur, sorted. */
  symbols(): string[] {
    const names = new Set<string>();
    for (const key of this.terms.keys()) for (const n of parseKey(key).keys()) names.add(n);
    return [...names].sort();
  }

  add(other: Poly): Poly {
    if (!this.termMap && !other.termMap) return Poly.const(this.num + other.num);
    const t = new Map(this.terms);
    for (const [k, c] of other.terms) {
      const v = (t.get(k) ?? 0) + c;
      if (v === 0) t.delete(k);
      else t.set(k, v);
    }
    return Poly.of(t);
  }

  neg(): Poly {
    return this.mulConst(-1);
  }

  sub(other: Poly): Poly {
    return this.add(other.neg());
  }

  mulConst(n: number): Poly {
    if (n === 0) return Poly.ZERO;
    if (!this.termMap) return Poly.const(this.num * n);
    const t = new Map<MonoKey, number>();
    for (const [k, c] of this.terms) t.set(k, c * n);
    return Poly.of(t);
  }

  mul(other: Poly): Poly {
    // a zero factor has no terms: the product is zero whatever the other (NaN, Infinity) holds
    if (!this.termMap && !other.termMap) return this.num === 0 || other.num === 0 ? Poly.ZERO : Poly.const(this.num * other.num);
    let out: Poly = Poly.ZERO;
    for (const [ka, ca] of this.terms) {
      const t = new Map<MonoKey, number>();
      for (const [kb, cb] of other.terms) t.set(mulKeys(ka, kb), ca * cb);
      out = out.add(Poly.of(t));
    }
    return out;
  }

  pow(e: number): Poly {
    let out: Poly = Poly.ONE;
    for (let i = 0; i < e; i++) out = out.mul(this);
    return out;
  }

  /** Exact division by an integer: undefined unless every coefficient divides. */
  divExact(n: number): Poly | undefined {
    if (n === 0) return undefined;
    if (!this.termMap) return this.num % n === 0 ? Poly.const(this.num / n) : undefined;
    const t = new Map<MonoKey, number>();
    for (const [k, c] of this.terms) {
      if (c % n !== 0) return undefined;
      t.set(k, c / n);
    }
    return Poly.of(t);
  }

  /** Exact division by another polynomial when it is a constant or a single-term divisor of every term. */
  divBy(other: Poly): Poly | undefined {
    const c = other.constant;
    if (c !== undefined) return this.divExact(c);
    if (other.terms.size !== 1) return this.equals(other) ? Poly.ONE : undefined;
    const [[dk, dc]] = [...other.terms];
    const dPow = parseKey(dk);
    const t = new Map<MonoKey, number>();
    for (const [k, coef] of this.terms) {
      if (coef % dc !== 0) return undefined;
      const p = parseKey(k);
      for (const [n, e] of dPow) {
        const have = p.get(n) ?? 0;
        if (have < e) return undefined;
        p.set(n, have - e);
      }
      t.set(makeKey(p), coef / dc);
    }
    return Poly.of(t);
  }

  equals(other: Poly): boolean {
    if (!this.termMap && !other.termMap) return this.num === other.num;
    if (this.terms.size !== other.terms.size) return false;
    for (const [k, c] of this.terms) if (other.terms.get(k) !== c) return false;
    return true;
  }

  /** Substitute values for symbols; the result may still hold the symbols not given. */
  substitute(values: ReadonlyMap<string, number> | Record<string, number>): Poly {
    const get = (n: string): number | undefined =>
      values instanceof Map ? (values as ReadonlyMap<string, number>).get(n) : (values as Record<string, number>)[n];
    let out: Poly = Poly.ZERO;
    for (const [k, c] of this.terms) {
      let coef = c;
      const rest = new Map<string, number>();
      for (const [n, e] of parseKey(k)) {
        const v = get(n);
        if (v === undefined) rest.set(n, e);
        else coef *= v ** e;
      }
      out = out.add(coef === 0 ? Poly.ZERO : Poly.of(new Map([[makeKey(rest), coef]])));
    }
    return out;
  }

  /** Greatest common divisor of the coefficients (positive), 0 for the zero polynomial. */
  contentGcd(): number {
    let g = 0;
    for (const c of this.terms.values()) g = gcd(g, Math.abs(c));
    return g;
  }

  /** Readable form, lowest degree first: `36·features + 32·features²`. */
  toString(): string {
    if (this.terms.size === 0) return '0';
    const entries = [...this.terms].sort(([a], [b]) => degree(a) - degree(b) || (a < b ? -1 : a > b ? 1 : 0));
    let out = '';
    entries.forEach(([k, c], i) => {
      const mono = [...parseKey(k)]
        .map(([n, e]) => [/^[\w.]+$/.test(n) ? n : `(${n})`, e] as const)
        .map(([n, e]) =>
          e === 1
            ? n
            : n +
              String(e)
                .split('')
                .map((d) => SUPERSCRIPT[d])
                .join(''),
        )
        .join('·');
      const abs = Math.abs(c);
      const body = mono === '' ? formatInt(abs) : abs === 1 ? mono : `${formatInt(abs)}·${mono}`;
      if (i === 0) out = c < 0 ? `-${body}` : body;
      else out += c < 0 ? ` - ${body}` : ` + ${body}`;
    });
    return out;
  }
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return Math.abs(a);
}

function formatInt(n: number): string {
  return String(n);
}

/** `after / before` as a readable fraction with common constant factors cancelled. */
export function formatRatio(after: Poly, before: Poly): string {
  const a = after.constant;
  const b = before.constant;
  if (a !== undefined && b !== undefined) return b === 0 ? 'n/a' : (a / b).toFixed(4);
  // cancel a common single-symbol factor and the coefficient gcd
  let num = after;
  let den = before;
  for (const s of new Set([...num.symbols(), ...den.symbols()])) {
    for (;;) {
      const n2 = num.divBy(Poly.sym(s));
      const d2 = den.divBy(Poly.sym(s));
      if (!n2 || !d2) break;
      num = n2;
      den = d2;
    }
  }
  const g = gcd(num.contentGcd(), den.contentGcd());
  if (g > 1) {
    num = num.divExact(g)!;
    den = den.divExact(g)!;
  }
  const numText = num.toString();
  const denText = den.toString();
  // a product in the denominator needs brackets too: 1 / (9·k), not 1 / 9·k
  const wrapNum = num.symbols().length > 0 && numText.includes(' ') ? `(${numText})` : numText;
  const wrapDen = /[ ·]/.test(denText) ? `(${denText})` : denText;
  return `${wrapNum} / ${wrapDen}`;
}
