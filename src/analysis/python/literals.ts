/**
 * Python string literals read from their text, as Python reads them: the prefix and quotes, raw or
 * not, escapes decoded. One reading for both evaluators: the static one (`evaluate.ts`: a keyword's
 * value, a dict key) and the shape interpreter (`shapes/expressions.ts`, which evaluates an
 * f-string's replacement fields itself and decodes its text parts here).
 */

/** A literal's prefix and opening quote: `'`, `r"""`, `f'`, ... */
const STRING_START = /^([A-Za-z]{0,2})('''|"""|'|")/;

/** A literal's prefix (lower case), and its body between the quotes; undefined when the text is no whole literal. */
export function stringParts(text: string): { prefix: string; body: string } | undefined {
  const open = STRING_START.exec(text);
  if (!open || text.length < open[0].length + open[2].length || !text.endsWith(open[2])) return undefined;
  return { prefix: open[1].toLowerCase(), body: text.slice(open[0].length, text.length - open[2].length) };
}

/**
 * The value of a literal that is neither bytes nor an f-string, from its text; else why not (the
 * evaluators word their own failure with it).
 */
export function plainString(text: string, parts = stringParts(text)): { value: string } | { why: string } {
  if (!parts) return { why: 'a string literal not read' };
  if (parts.prefix.includes('b')) return { why: 'bytes' };
  if (parts.prefix.includes('f')) return { why: 'f-string' };
  const value = bodyValue(parts.prefix, parts.body);
  return value === undefined ? { why: 'a \\N{...} escape' } : { value };
}

/** Text between a literal's quotes (or an f-string's text part) as Python reads it with this prefix: raw as it is, else escapes decoded. */
export function bodyValue(prefix: string, body: string): string | undefined {
  return prefix.includes('r') ? body : decodeEscapes(body);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\n': '', // a backslash at the end of a line continues the literal
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** The text of a (not raw) string literal's body as Python reads it; undefined for `\N{name}`, which needs Unicode's names. */
function decodeEscapes(body: string): string | undefined {
  if (!body.includes('\\')) return body;
  let named = false;
  const out = body.replace(
    /\\(?:([0-7]{1,3})|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(N\{)|(\r\n|[^])?)/g,
    (seq, oct?: string, x?: string, u?: string, U?: string, n?: string, c?: string) => {
      const code = oct ? parseInt(oct, 8) : x ? parseInt(x, 16) : u ? parseInt(u, 16) : U ? parseInt(U, 16) : undefined;
      if (code !== undefined) return code <= 0x10ffff ? String.fromCodePoint(code) : seq;
      if (n) named = true;
      if (c === '\r\n') return '';
      // an unknown escape (`\d`) keeps its backslash, as Python does
      return c !== undefined ? (SIMPLE_ESCAPES[c] ?? seq) : seq;
    },
  );
  return named ? undefined : out;
}
