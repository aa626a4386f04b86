/**
 * The forecast of a goal from its measured series: an ordinary least-squares line
 * (simple-statistics) through the points, the value it predicts at the due date with a 90%
 * prediction interval, and the chance the value is on the right side of the target then.
 * The interval uses Student's t with n − 2 degrees of freedom (few points widen it), so a
 * short or noisy history reads as uncertain rather than as a confident guess.
 */
import { linearRegression, linearRegressionLine, mean } from 'simple-statistics';

export interface Point {
  /** Days (or weeks) from the first point. */
  x: number;
  y: number;
}

export interface Forecast {
  /** Points the line was fitted to. */
  points: number;
  /** Change per unit of x (per day for followers, per week for weekly figures). */
  slope: number;
  /** Predicted value at the due date, and its 90% prediction interval. */
  predicted: number;
  low: number;
  high: number;
  /** Chance (0–1) the value reaches the target by the due date under the fitted trend. */
  probability: number;
}

/** Fewer points than this and there is no forecast (a line through two points has no error estimate). */
export const MIN_FORECAST_POINTS = 3;

/** Regularised incomplete beta I_x(a, b), by its continued fraction (Numerical Recipes' betacf). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbeta = lgamma(a + b) - lgamma(a) - lgamma(b);
  const front = Math.exp(Math.log(x) * a + Math.log(1 - x) * b + lbeta);
  if (x < (a + 1) / (a + b + 2)) return (front * betacf(x, a, b)) / a;
  return 1 - (front * betacf(1 - x, b, a)) / b;
}

function betacf(x: number, a: number, b: number): number {
  const tiny = 1e-30;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 200; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 3e-12) break;
  }
  return h;
}

function lgamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lgamma(1 - z);
  const zz = z - 1;
  let x = c[0]!;
  for (let i = 1; i < g + 2; i++) x += c[i]! / (zz + i);
  const t = zz + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(x);
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The t value with P(T ≤ t) = p (bisection; p in (0.5, 1)). */
export function studentTQuantile(p: number, df: number): number {
  let lo = 0;
  let hi = 1_000;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Fits the line and predicts at `atX`. `rising`: the goal is to go up to `target` (else
 * down to it). Null below {@link MIN_FORECAST_POINTS} points.
 */
export function forecast(points: Point[], atX: number, target: number, rising: boolean): Forecast | null {
  const n = points.length;
  if (n < MIN_FORECAST_POINTS) return null;
  const pairs = points.map((p) => [p.x, p.y]);
  const fit = linearRegression(pairs);
  const line = linearRegressionLine(fit);
  const xs = points.map((p) => p.x);
  const xbar = mean(xs);
  const sxx = xs.reduce((s, x) => s + (x - xbar) ** 2, 0);
  const sse = points.reduce((s, p) => s + (p.y - line(p.x)) ** 2, 0);
  const df = n - 2;
  const s = Math.sqrt(sse / df);
  const predicted = line(atX);
  const se = s * Math.sqrt(1 + 1 / n + (sxx > 0 ? (atX - xbar) ** 2 / sxx : 0));
  const t90 = studentTQuantile(0.95, df);
  let probability: number;
  if (se < 1e-9) probability = rising ? +(predicted >= target) : +(predicted <= target);
  else {
    const z = (predicted - target) / se;
    probability = rising ? studentTCdf(z, df) : 1 - studentTCdf(z, df);
  }
  return {
    points: n,
    slope: fit.m,
    predicted,
    low: predicted - t90 * se,
    high: predicted + t90 * se,
    probability,
  };
}
