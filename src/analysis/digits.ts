/**
 * Integers with thousands separators, as `toLocaleString('en-US')` writes them (`28,901,376`),
 * without ICU: its first use loads locale data that stays resident (7 MB in the language server,
 * whose hovers and reports print every count this way).
 */
export function grouped(n: number): string {
  // never a count; ICU writes these its own way (`12,345.679`, `∞`)
  if (!Number.isInteger(n)) return n.toLocaleString('en-US');
  let digits = Math.abs(n).toString();
  // from 1e21 up: the shortest digits that read back as `n`, then zeros (as ICU writes them)
  const e = /^(\d)(?:\.(\d+))?e\+(\d+)$/.exec(digits);
  if (e) digits = e[1] + (e[2] ?? '') + '0'.repeat(Number(e[3]) - (e[2]?.length ?? 0));
  return (n < 0 || Object.is(n, -0) ? '-' : '') + digits.replace(/\B(?=(\d{3})+$)/g, ',');
}
