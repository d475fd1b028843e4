/**
 * Floors of the oracle suites: per fixture (or per model), how many of the tool's answers the real
 * framework confirmed exactly and how many the tool left unknown, committed in
 * test/oracle/baselines/<suite>.json, one line per case. A run fails when a case's `exact` drops or its
 * `unknown` rises, and prints the figures either way; a rise in `exact` (or a fall in `unknown`) passes
 * and says that the floor can be raised. `UPDATE=1` rewrites the baseline with this run's figures, so
 * raising the floor is a one-line diff reviewed with the code that earned it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, UPDATE } from '../helpers';

export interface Figures {
  /** answers the tool gave that the framework confirmed (a wrong answer fails the suite by itself) */
  exact: number;
  /** answers the tool did not give (unknown, with a reason) */
  unknown: number;
}

export const BASELINES = path.join(ROOT, 'test', 'oracle', 'baselines');

/** One line per case, sorted, so that a change of one case is a one-line diff. */
export function formatBaseline(figures: Record<string, Figures>): string {
  const keys = Object.keys(figures).sort();
  const lines = keys.map((k) => `  ${JSON.stringify(k)}: { "exact": ${figures[k].exact}, "unknown": ${figures[k].unknown} }`);
  return `{\n${lines.join(',\n')}\n}\n`;
}

export interface FloorResult {
  /** why the floor is not held (empty when it is) */
  failures: string[];
  /** cases that did better than their floor */
  raisable: string[];
  /** the figures, one line per case, for the log */
  table: string[];
}

/** Compares a run's figures with a baseline (pure: the file handling is `holdFloor`'s). */
export function compareFloor(current: Record<string, Figures>, baseline: Record<string, Figures>): FloorResult {
  const failures: string[] = [];
  const raisable: string[] = [];
  const table: string[] = [];
  for (const key of Object.keys(current).sort()) {
    const now = current[key];
    const floor = baseline[key];
    if (!floor) {
      failures.push(`${key}: no floor in the baseline (exact ${now.exact}, unknown ${now.unknown}); UPDATE=1 writes it`);
      table.push(`  ${key}: exact ${now.exact}, unknown ${now.unknown} (no floor)`);
      continue;
    }
    const worse: string[] = [];
    const better: string[] = [];
    if (now.exact < floor.exact) worse.push(`exact ${floor.exact} -> ${now.exact}`);
    if (now.unknown > floor.unknown) worse.push(`unknown ${floor.unknown} -> ${now.unknown}`);
    if (now.exact > floor.exact) better.push(`exact ${floor.exact} -> ${now.exact}`);
    if (now.unknown < floor.unknown) better.push(`unknown ${floor.unknown} -> ${now.unknown}`);
    if (worse.length) failures.push(`${key}: below its floor: ${worse.join(', ')}`);
    if (better.length) raisable.push(`${key}: ${better.join(', ')}`);
    table.push(
      `  ${key}: exact ${now.exact} (floor ${floor.exact}), unknown ${now.unknown} (floor ${floor.unknown})${worse.length ? '  BELOW THE FLOOR' : better.length ? '  floor can be raised' : ''}`,
    );
  }
  for (const key of Object.keys(baseline).sort()) {
    if (!(key in current))
      failures.push(`${key}: in the baseline but not run (a case that disappeared, or was not checked); UPDATE=1 removes it`);
  }
  return { failures, raisable, table };
}

/**
 * Holds `suite`'s floor: prints the figures and returns the failures (empty when held). With `UPDATE=1`
 * the baseline is rewritten from `current` first, so nothing fails.
 */
export function holdFloor(suite: string, current: Record<string, Figures>, log: (line: string) => void = console.log): string[] {
  const file = path.join(BASELINES, `${suite}.json`);
  if (UPDATE) {
    fs.mkdirSync(BASELINES, { recursive: true });
    fs.writeFileSync(file, formatBaseline(current));
  }
  const baseline = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Figures>) : {};
  const r = compareFloor(current, baseline);
  const total = Object.values(current).reduce((s, f) => ({ exact: s.exact + f.exact, unknown: s.unknown + f.unknown }), {
    exact: 0,
    unknown: 0,
  });
  log(
    `${suite} floor (${path.relative(ROOT, file)}): ${Object.keys(current).length} cases, exact ${total.exact}, unknown ${total.unknown}`,
  );
  for (const line of r.table) log(line);
  if (r.raisable.length)
    log(`${suite}: floor can be raised (UPDATE=1, then review the diff of ${path.relative(ROOT, file)}): ${r.raisable.join('; ')}`);
  return r.failures;
}
