/**
 * The `sepconv.*` settings. package.json (`contributes.configuration`) is the one place they are
 * declared, with their defaults and `markdownDescription`; this module gives each a typed parser and
 * takes the defaults from there. A unit test checks the two agree key for key.
 *
 * Editor-free on purpose: the server, the VS Code client and the tests all use it.
 */
import manifest from '../../package.json';
import { defaultOptions, parseInputSize, type AnalysisOptions, type Norm, type TfjsStyle } from '../analysis/options';

/** The JSON-schema subset package.json uses for a setting. */
export interface SettingSchema {
  type: 'boolean' | 'number' | 'integer' | 'string' | 'array' | 'object';
  default: unknown;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  markdownDescription?: string;
}

/** A parser returns the value when it is valid for the setting, else undefined (the default is used). */
type Parser<T> = (value: unknown, schema: SettingSchema) => T | undefined;

const boolean: Parser<boolean> = (v) => (typeof v === 'boolean' ? v : undefined);

const number: Parser<number> = (v, s) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  if (s.type === 'integer' && !Number.isInteger(v)) return undefined;
  if (s.minimum !== undefined && v < s.minimum) return undefined;
  if (s.maximum !== undefined && v > s.maximum) return undefined;
  return v;
};

const string: Parser<string> = (v) => (typeof v === 'string' ? v : undefined);

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (v) =>
    values.includes(v as T) ? (v as T) : undefined;

const inputSizes: Parser<string[]> = (v) => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return undefined;
  try {
    for (const x of v) parseInputSize(x);
  } catch {
    return undefined;
  }
  return v;
};

const integerRecord: Parser<Record<string, number>> = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[A-Za-z_][\w.]*$/.test(k) || typeof x !== 'number' || !Number.isInteger(x)) return undefined;
    out[k] = x;
  }
  return out;
};

/** Every setting, by its key under `sepconv.`, with its parser. */
export const SETTING_PARSERS = {
  'inlayHints.enabled': boolean,
  'inlayHints.showReasons': boolean,
  'inlayHints.unit': oneOf('MACs', 'FLOPs'),
  'hover.enabled': boolean,
  'codeLens.enabled': boolean,
  minSavings: number,
  normalization: oneOf<Norm>('none', 'bn', 'bn-relu'),
  depthMultiplier: number,
  inputSize: inputSizes,
  assumptions: integerRecord,
  countBiasAdds: boolean,
  lineLength: number,
  'tfjs.style': oneOf<TfjsStyle>('separable', 'split'),
  'weights.checkpoint': string,
  'weights.energy': number,
  pythonPath: string,
  'trace.server': oneOf('off', 'messages', 'verbose'),
} as const;

export type SettingKey = keyof typeof SETTING_PARSERS;
export type Settings = { readonly [K in SettingKey]: NonNullable<ReturnType<(typeof SETTING_PARSERS)[K]>> };

export const SECTION = 'sepconv';

/** The schemas declared in package.json, by key under `sepconv.`. */
export function declaredSettings(): Record<string, SettingSchema> {
  const props = manifest.contributes.configuration.properties as Record<string, SettingSchema>;
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k.slice(SECTION.length + 1), v]));
}

/** The value at `key` in a settings object: nested (`{inlayHints: {enabled}}`, as VS Code sends it) or flat. */
function lookup(raw: unknown, key: string): unknown {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const obj = raw as Record<string, unknown>;
  if (key in obj) return obj[key];
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export interface ParsedSettings {
  settings: Settings;
  /** one line per value that was invalid and replaced by its default */
  problems: string[];
}

/**
 * Parses the `sepconv` section (`undefined` gives every default). An invalid value falls back to
 * the default declared in package.json and is named in `problems`.
 */
export function parseSettings(raw: unknown): ParsedSettings {
  const schemas = declaredSettings();
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, parser] of Object.entries(SETTING_PARSERS) as [SettingKey, Parser<unknown>][]) {
    const schema = schemas[key];
    if (!schema) throw new Error(`setting sepconv.${key} has a parser but is not declared in package.json`);
    const value = lookup(raw, key);
    const parsed = value === undefined || value === null ? undefined : parser(value, schema);
    if (value !== undefined && value !== null && parsed === undefined)
      problems.push(`sepconv.${key}: ${JSON.stringify(value)} is not valid; using ${JSON.stringify(schema.default)}`);
    out[key] = parsed ?? parser(schema.default, schema);
  }
  return { settings: out as unknown as Settings, problems };
}

export function defaultSettings(): Settings {
  return parseSettings(undefined).settings;
}

/** The core's options from the settings. */
export function analysisOptions(s: Settings): AnalysisOptions {
  const inputSizes: AnalysisOptions['inputSizes'] = {};
  for (const text of s.inputSize) {
    const dims = parseInputSize(text);
    inputSizes[dims.length as 1 | 2 | 3] = dims;
  }
  return defaultOptions({
    inputSizes,
    assumptions: { ...s.assumptions },
    depthMultiplier: s.depthMultiplier,
    norm: s.normalization,
    tfjsStyle: s['tfjs.style'],
    countBiasAdds: s.countBiasAdds,
  });
}

/** The README's settings table, generated from package.json (a unit test keeps the README in step). */
export function settingsTable(): string {
  const props = manifest.contributes.configuration.properties as Record<string, SettingSchema & { order?: number; enum?: string[] }>;
  // `#editor.inlayHints.enabled#` is a settings link inside VS Code; plain code in the README
  const cell = (s: string) =>
    s
      .replace(/`#([\w.]+)#`/g, '`$1`')
      .replace(/\|/g, '\\|')
      .replace(/\s*\n\s*/g, ' ');
  const type = (s: SettingSchema) => (s.enum ? s.enum.map((v) => `\`${v}\``).join(' \\| ') : s.type);
  const rows = Object.entries(props)
    .sort(([, a], [, b]) => (a.order ?? 0) - (b.order ?? 0))
    .map(([key, s]) => `| \`${key}\` | ${type(s)} | \`${JSON.stringify(s.default)}\` | ${cell(s.markdownDescription ?? '')} |`);
  return ['| Setting | Type | Default | Description |', '|---|---|---|---|', ...rows].join('\n');
}
