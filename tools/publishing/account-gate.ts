/**
 * Per-account politeness, shared by every worker process through Redis: at most N calls in
 * flight per account (N from the platform's capabilities), and a pause after a 429 until the
 * platform's reset time. Slots are leases with a TTL, so a worker killed mid-call cannot
 * block an account for longer than the lease.
 */
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class AccountGate {
  constructor(
    private readonly redis: Redis,
    private readonly leaseMs: number,
    private readonly prefix = 'herald',
  ) {}

  /** Takes one of the account's `slots`; returns a release function, or null when all are busy. */
  async acquire(accountId: string, slots: number, holder: string): Promise<(() => Promise<void>) | null> {
    for (let i = 0; i < slots; i++) {
      const key = `${this.prefix}:slot:${accountId}:${i}`;
      if ((await this.redis.set(key, holder, 'PX', this.leaseMs, 'NX')) === 'OK') {
        return async () => {
          await this.redis.eval(RELEASE, 1, key, holder);
        };
      }
    }
    return null;
  }

  /** Epoch ms until which the account is paused, or 0. */
  async pausedUntil(accountId: string): Promise<number> {
    const v = await this.redis.get(`${this.prefix}:pause:${accountId}`);
    const until = v ? Number(v) : 0;
    return until > Date.now() ? until : 0;
  }

  async pause(accountId: string, until: Date): Promise<void> {
    const ms = until.getTime() - Date.now();
    if (ms > 0) await this.redis.set(`${this.prefix}:pause:${accountId}`, String(until.getTime()), 'PX', ms);
  }
}
