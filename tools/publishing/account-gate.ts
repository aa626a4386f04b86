/**
 * Per-account politeness, shared by every worker process through Redis: at most N calls in
 * flight per account (N from the platform's capabilities), and a pause after a 429 until the
 * platform's reset time. Slots are short leases renewed while the holder works, so a worker
 * killed mid-call blocks its accounts for one lease at most, while a slow call keeps its slot.
 */
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export class AccountGate {
  constructor(
    private readonly redis: Redis,
    /** Lease length; renewed every third of it while held. */
    private readonly leaseMs: number,
    private readonly prefix = 'herald',
  ) {}

  /** Takes one of the account's `slots`; returns a release function, or null when all are busy. */
  async acquire(accountId: string, slots: number, holder: string): Promise<(() => Promise<void>) | null> {
    for (let i = 0; i < slots; i++) {
      const key = `${this.prefix}:slot:${accountId}:${i}`;
      if ((await this.redis.set(key, holder, 'PX', this.leaseMs, 'NX')) === 'OK') {
        const renew = setInterval(
          () => {
            this.redis.eval(RENEW, 1, key, holder, this.leaseMs).catch(() => undefined);
          },
          Math.max(100, Math.floor(this.leaseMs / 3)),
        );
        renew.unref();
        return async () => {
          clearInterval(renew);
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
