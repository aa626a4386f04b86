/**
 * Per-provider health: a circuit breaker (repeated failures open it for a cooldown; after
 * the cooldown one probe call is let through — success closes it, failure opens it again)
 * and a moving average of time to first token per model. The clock is injectable so tests
 * move time instead of waiting for it.
 */

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 3. */
  failureThreshold?: number;
  /** How long an open breaker refuses calls before a probe. Default 30 s. */
  cooldownMs?: number;
  now?: () => number;
}

export const BREAKER_DEFAULTS = { failureThreshold: 3, cooldownMs: 30_000 } as const;

export type BreakerState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #failures = 0;
  #openedAt: number | undefined;
  #probing = false;

  constructor(options: BreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? BREAKER_DEFAULTS.failureThreshold;
    this.#cooldownMs = options.cooldownMs ?? BREAKER_DEFAULTS.cooldownMs;
    this.#now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.#openedAt === undefined) return 'closed';
    return this.#now() - this.#openedAt >= this.#cooldownMs ? 'half_open' : 'open';
  }

  /** Whether a call may go now, without taking the probe slot. */
  peek(): { ok: boolean; why: string } {
    const state = this.state;
    if (state === 'closed') return { ok: true, why: 'closed' };
    if (state === 'open') {
      const left = this.#cooldownMs - (this.#now() - this.#openedAt!);
      return { ok: false, why: `circuit open after ${this.#failures} failures, retry in ${Math.ceil(left / 1000)} s` };
    }
    return this.#probing
      ? { ok: false, why: 'circuit half-open, a probe is in flight' }
      : { ok: true, why: 'half-open probe' };
  }

  /** Takes permission for one call; in half-open state only one probe at a time. */
  acquire(): boolean {
    const { ok } = this.peek();
    if (ok && this.state === 'half_open') this.#probing = true;
    return ok;
  }

  success(): void {
    this.#failures = 0;
    this.#openedAt = undefined;
    this.#probing = false;
  }

  failure(): void {
    this.#failures++;
    const wasProbe = this.#probing;
    this.#probing = false;
    if (wasProbe || this.#failures >= this.#threshold) this.#openedAt = this.#now();
  }
}

/** Exponentially weighted moving average per key (newest sample weighs `alpha`). */
export class MovingAverage {
  readonly #alpha: number;
  readonly #values = new Map<string, number>();

  constructor(alpha = 0.3) {
    this.#alpha = alpha;
  }

  observe(key: string, sample: number): void {
    const prev = this.#values.get(key);
    this.#values.set(key, prev === undefined ? sample : prev + this.#alpha * (sample - prev));
  }

  get(key: string): number | undefined {
    return this.#values.get(key);
  }
}
