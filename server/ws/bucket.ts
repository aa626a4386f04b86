/**
 * The rate limit of a connection's messages, and of a voice session's audio frames: a token
 * bucket, `burst` messages at once, refilled at `perSecond`.
 */
export class MessageBucket {
  #tokens: number;
  #at = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  /** Takes one token; returns 0 when allowed, else the milliseconds until one is available. */
  take(): number {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.perSecond) * 1000);
  }
}
