/**
 * Confirmation requests shown in a chat as buttons (a Telegram inline keyboard, Slack Block Kit
 * buttons), kept in Redis so that any API process, or one started after a restart, can take
 * the press. When the agent asks to confirm an action, the turn ends there (the question stays
 * in the thread's checkpoint, as REST chat leaves it) and a record goes to Redis under a random
 * id carried in the buttons (on Telegram the `callback_data` `cf:<id>:y|n`, 21 bytes of the 64
 * allowed): the chat it was asked in, the thread and a digest of the exact action. A press is
 * accepted once (the record is deleted by exactly one taker) from the chat the request was
 * sent to, and only while the thread still waits for that same action; the turn then goes on
 * as the member's current self (`resumeConfirmed`). A press on a request that is no longer
 * open (answered, expired, changed) or from another chat is answered so and changes nothing.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LinkedMember } from '../../tools/channels/index.js';
import type { Principal } from '../auth/principal.js';
import { confirmIdOf, type RestChatHandler } from '../routes/chat.js';
import type { ConfirmAction, ConfirmDecision, TurnSink } from '../ws/index.js';

/** How long a confirmation waits for a button before it expires. */
export const CONFIRM_TTL_MS = 15 * 60_000;

/** What a button press needs to go on with the turn, on whichever process takes it. */
export interface PendingConfirm {
  channel: 'slack' | 'telegram';
  /** Who may answer: the Telegram chat id, or the Slack `<team>:<user>`. */
  chat: string;
  /** The thread the turn ran on (the member's own). */
  threadId: string;
  /** `confirmIdOf` the action shown: a press answers that action and no other. */
  confirmId: string;
  /** Where the rest of the answer goes (the Slack channel id; the Telegram chat id). */
  replyTo: string;
}

export type PressOutcome =
  | { kind: 'answered'; approved: boolean; pending: PendingConfirm }
  | { kind: 'stale' }
  | { kind: 'foreign' }
  | { kind: 'malformed' };

const DATA = /^cf:([A-Za-z0-9_-]{16}):([yn])$/;

export interface ConfirmStoreOptions {
  /** Key prefix (QUEUE_PREFIX); default `herald`. */
  prefix?: string | undefined;
  ttlMs?: number | undefined;
}

export class ConfirmStore {
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(
    private readonly redis: Redis,
    opts: ConfirmStoreOptions = {},
  ) {
    this.#prefix = opts.prefix ?? 'herald';
    this.#ttlMs = opts.ttlMs ?? CONFIRM_TTL_MS;
  }

  #key(id: string): string {
    return `${this.#prefix}:channels:confirm:${id}`;
  }

  /** Stores a request for `action`; its buttons carry `approve` / `reject`. */
  async open(
    pending: Omit<PendingConfirm, 'confirmId'>,
    action: ConfirmAction,
  ): Promise<{ id: string; approve: string; reject: string }> {
    const id = randomBytes(12).toString('base64url');
    const record: PendingConfirm = { ...pending, confirmId: confirmIdOf(action) };
    await this.redis.set(this.#key(id), JSON.stringify(record), 'PX', this.#ttlMs);
    return { id, approve: `cf:${id}:y`, reject: `cf:${id}:n` };
  }

  /** The open request a button names, and whether `chat` may answer it; nothing is taken. */
  async peek(data: string | undefined, chat: string | undefined): Promise<PressOutcome & { id?: string }> {
    const m = DATA.exec(data ?? '');
    if (!m) return { kind: 'malformed' };
    const raw = await this.redis.get(this.#key(m[1]!));
    if (raw === null) return { kind: 'stale' };
    const pending = JSON.parse(raw) as PendingConfirm;
    if (pending.chat !== chat) return { kind: 'foreign' };
    return { kind: 'answered', approved: m[2] === 'y', pending, id: m[1]! };
  }

  /** Takes the request: true for exactly one caller, false when another press (or expiry) came first. */
  async take(id: string): Promise<boolean> {
    return (await this.redis.del(this.#key(id))) === 1;
  }
}

/**
 * Goes on with a turn whose confirmation was answered by a button: when the member's thread
 * still waits for the action the button was shown for, the handler is run with the answer and
 * the rest of the turn streams into `sink`; otherwise nothing runs and false comes back.
 * Confirmations the turn asks after this one go to `sink.confirm` (new buttons).
 */
export async function resumeConfirmed(
  handler: RestChatHandler,
  principal: Principal,
  pending: PendingConfirm,
  approved: boolean,
  sink: TurnSink,
  signal: AbortSignal,
  turnId: string,
  /** Called once the thread is known to wait for the action, before the turn goes on. */
  accepted?: () => Promise<void>,
): Promise<boolean> {
  if (!handler.pendingAction) return false;
  const waiting = await handler.pendingAction(principal, pending.threadId);
  if (!waiting || confirmIdOf(waiting) !== pending.confirmId) return false;
  await accepted?.();
  const decision: ConfirmDecision = approved ? { confirmed: true } : { confirmed: false, reason: 'rejected' };
  let first = true;
  await handler.handle(
    { principal, turnId, threadId: pending.threadId, clientMessageId: turnId, text: approved ? 'yes' : 'no' },
    {
      ...sink,
      confirm: async (action) => {
        if (!first) return sink.confirm(action);
        first = false;
        // Changed between the check and the run (answered elsewhere): answer nothing.
        return confirmIdOf(action) === pending.confirmId ? decision : { confirmed: false, reason: 'cancelled' };
      },
    },
    signal,
  );
  return true;
}

/**
 * Remembers ids of inbound deliveries (Slack `event_id`, Telegram `update_id`) across processes:
 * `firstTime` is true once per id within `ttlMs`, whichever process asks.
 */
export class DeliveryLog {
  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    private readonly ttlMs: number,
    private readonly prefix = 'herald',
  ) {}

  async firstTime(id: string | number): Promise<boolean> {
    const key = `${this.prefix}:channels:seen:${this.name}:${id}`;
    return (await this.redis.set(key, '1', 'PX', this.ttlMs, 'NX')) === 'OK';
  }
}

/** The principal a linked chat member acts as: the person, with their role in the workspace now. */
export function memberPrincipal(member: LinkedMember): Principal {
  return {
    kind: 'user',
    userId: member.userId,
    apiKeyId: null,
    sessionId: null,
    workspaceId: member.workspaceId,
    role: member.role,
    timeZone: member.timeZone,
    limitKey: `u:${member.userId}`,
  };
}
