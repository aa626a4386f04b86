/**
 * The workspace settings each turn needs (model policy, autopilot), kept between turns so a
 * turn does not read the workspace row every time. It never decides on its own when that is
 * safe: a `ChangeSignal` does — in the server, the principal cache (`server/auth`), whose
 * epoch moves on with every change it hears of:
 *
 * - a change committed anywhere (database triggers, migration 0007, `NOTIFY herald_auth` when
 *   a workspace row is updated — settings included);
 * - a change made through this process: a REST request that may have changed something moves
 *   it before its answer goes out (`server/api.ts`), so the next turn after the answer to
 *   `PATCH /v1/workspace` reads the new autopilot even before the notification arrives;
 * - the subscription going down or coming back (while it is down, `available` is false and
 *   nothing is served or kept).
 *
 * An entry is served only under the epoch it was read under (read before the query, so a
 * read that raced a change is never served) and for `ttlMs` at most.
 */
import { getWorkspace, type Db } from '../core/index.js';
import { modelPolicyOf, type ModelPolicy } from './models/index.js';
import { autopilotOf } from './settings.js';

/** Says when anything cached about a workspace may have become wrong. */
export interface ChangeSignal {
  /** False while changes cannot be heard: nothing may be served from a cache then. */
  readonly available: boolean;
  /** Moves on with every change heard of (and every loss of hearing). */
  readonly epoch: number;
}

/** What a turn reads from its workspace. */
export interface TurnSettings {
  policy: ModelPolicy;
  /** Side-effect tools the workspace lets run without asking. */
  autopilot: readonly string[];
}

export interface SettingsCacheOptions {
  /** How long an entry may be served at most, whatever the signal says. Default 60 s. */
  ttlMs?: number;
  /** Workspaces kept at most (the oldest read goes first). Default 10,000. */
  max?: number;
  now?: () => number;
}

export const SETTINGS_CACHE_DEFAULTS = { ttlMs: 60_000, max: 10_000 } as const;

interface Entry {
  settings: TurnSettings;
  epoch: number;
  expiresAtMs: number;
}

/** The settings of a workspace as a turn reads them (defaults when it has none or is gone). */
export async function readTurnSettings(db: Db, workspaceId: string): Promise<TurnSettings> {
  const workspace = await getWorkspace(db, workspaceId);
  return { policy: modelPolicyOf(workspace?.settings), autopilot: autopilotOf(workspace?.settings) };
}

export class SettingsCache {
  readonly #signal: ChangeSignal;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #epoch = -1;

  constructor(signal: ChangeSignal, options: SettingsCacheOptions = {}) {
    this.#signal = signal;
    this.#ttlMs = options.ttlMs ?? SETTINGS_CACHE_DEFAULTS.ttlMs;
    this.#max = options.max ?? SETTINGS_CACHE_DEFAULTS.max;
    this.#now = options.now ?? Date.now;
  }

  /** The workspace's settings: cached while nothing may have changed them, else `load`ed. */
  async get(workspaceId: string, load: () => Promise<TurnSettings>): Promise<TurnSettings> {
    const hit = this.#valid(workspaceId);
    if (hit) return hit;
    // Read before the query: a change heard while it runs moves the epoch past this one.
    const available = this.#signal.available;
    const epoch = this.#signal.epoch;
    const settings = await load();
    if (available) this.#store(workspaceId, epoch, settings);
    return settings;
  }

  #valid(workspaceId: string): TurnSettings | undefined {
    if (!this.#signal.available) return undefined;
    const entry = this.#entries.get(workspaceId);
    if (!entry) return undefined;
    if (entry.epoch !== this.#signal.epoch || entry.expiresAtMs <= this.#now()) {
      this.#entries.delete(workspaceId);
      return undefined;
    }
    return entry.settings;
  }

  #store(workspaceId: string, epoch: number, settings: TurnSettings): void {
    if (epoch !== this.#signal.epoch) return;
    // Any change heard makes every older entry unservable: drop them all at once.
    if (epoch !== this.#epoch) {
      this.#entries.clear();
      this.#epoch = epoch;
    }
    this.#entries.delete(workspaceId);
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(workspaceId, { settings, epoch, expiresAtMs: this.#now() + this.#ttlMs });
  }
}
