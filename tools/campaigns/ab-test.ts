/**
 * A/B variants compared before a winner is declared: conversions per unique human click of
 * two variants, tested with a two-sided two-proportion z-test (pooled), or Fisher's exact
 * test when any expected cell is under 5 (the z-test's normal approximation fails there).
 * A winner needs p < ALPHA and at least MIN_CLICKS unique clicks per variant; otherwise the
 * answer is "no winner yet" with the reason. The click split is reported beside it.
 */
import { gammaln } from 'simple-statistics';

/** Significance level. */
export const ALPHA = 0.05;
/** Unique clicks each variant needs before any verdict. */
export const MIN_CLICKS = 30;

export interface VariantFigures {
  variant: string;
  uniqueClicks: number;
  conversions: number;
}

export interface AbVerdict {
  variants: Array<VariantFigures & { conversionRate: number | null }>;
  test: 'z' | 'fisher' | null;
  pValue: number | null;
  winner: string | null;
  /** Why there is (no) winner, in words. */
  reason: string;
}

/**
 * erfc with fractional error under 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit): the
 * tail of the normal stays accurate for large z, where 1 − Φ(z) from a CDF table would not.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Two-sided p of the pooled two-proportion z-test. */
export function twoProportionZ(x1: number, n1: number, x2: number, n2: number): number {
  const p = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (se === 0) return 1;
  const z = Math.abs(x1 / n1 - x2 / n2) / se;
  // Two-sided: 2 (1 − Φ(z)) = erfc(z / √2).
  return Math.min(1, erfc(z / Math.SQRT2));
}

const logChoose = (n: number, k: number) => gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1);

/** Two-sided p of Fisher's exact test on [[a, b], [c, d]] (tables as or less likely than the one seen). */
export function fisherExact(a: number, b: number, c: number, d: number): number {
  const row1 = a + b;
  const col1 = a + c;
  const n = a + b + c + d;
  const logP = (x: number) => logChoose(col1, x) + logChoose(n - col1, row1 - x) - logChoose(n, row1);
  const observed = logP(a);
  let p = 0;
  for (let x = Math.max(0, row1 + col1 - n); x <= Math.min(row1, col1); x++) {
    const lp = logP(x);
    if (lp <= observed + 1e-7) p += Math.exp(lp);
  }
  return Math.min(1, p);
}

/** The verdict on two variants (more than two: the best two by rate are compared). */
export function compareVariants(input: VariantFigures[]): AbVerdict {
  const variants = input.map((v) => ({
    ...v,
    conversionRate: v.uniqueClicks > 0 ? v.conversions / v.uniqueClicks : null,
  }));
  const none = (reason: string, test: AbVerdict['test'] = null, pValue: number | null = null): AbVerdict => ({
    variants,
    test,
    pValue,
    winner: null,
    reason,
  });
  if (variants.length < 2) return none('A test needs two variants');
  const ranked = [...variants].sort((a, b) => (b.conversionRate ?? -1) - (a.conversionRate ?? -1));
  const [best, second] = [ranked[0]!, ranked[1]!];
  const thin = variants.filter((v) => v.uniqueClicks < MIN_CLICKS);
  if (thin.length)
    return none(
      `Not enough data: ${thin.map((v) => `${v.variant} has ${v.uniqueClicks} unique clicks`).join(', ')}; each needs ${MIN_CLICKS}`,
    );
  const a = best.conversions;
  const b = best.uniqueClicks - Math.min(best.conversions, best.uniqueClicks);
  const c = second.conversions;
  const d = second.uniqueClicks - Math.min(second.conversions, second.uniqueClicks);
  const n = a + b + c + d;
  const expectedMin = Math.min(
    ((a + b) * (a + c)) / n,
    ((a + b) * (b + d)) / n,
    ((c + d) * (a + c)) / n,
    ((c + d) * (b + d)) / n,
  );
  const test = expectedMin < 5 ? 'fisher' : 'z';
  const p =
    test === 'fisher'
      ? fisherExact(a, b, c, d)
      : twoProportionZ(best.conversions, best.uniqueClicks, second.conversions, second.uniqueClicks);
  const pct = (r: number | null) => `${((r ?? 0) * 100).toFixed(1)}%`;
  if (p >= ALPHA)
    return none(
      `No winner: ${best.variant} ${pct(best.conversionRate)} vs ${second.variant} ${pct(second.conversionRate)} could be chance (p = ${p.toFixed(3)} ≥ ${ALPHA})`,
      test,
      p,
    );
  return {
    variants,
    test,
    pValue: p,
    winner: best.variant,
    reason: `${best.variant} converts better: ${pct(best.conversionRate)} vs ${pct(second.conversionRate)} (p = ${p.toFixed(4)} < ${ALPHA}, ${test === 'z' ? 'two-proportion z-test' : "Fisher's exact test"})`,
  };
}
