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
 *
 * **Edit** (`cf:<id>:e`) does not answer the request: it marks the chat as owing the new text
 * (`awaitEdit`, in Redis beside the request, for as long as the request lives). The chat's next
 * message is that text (`takeEdit`): the request is then taken like an Approve and the turn
 * goes on with `{confirmed: true, edit: {text}}`, the same decision the WebSocket's `confirm`
 * with `edit` and REST `POST /v1/chat/confirm` hand the agent, which applies it to the action
 * (the tool's `applyEdit`) and runs exactly that.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LinkedMember } from '../../tools/channels/index.js';
import type { Principal } from '../auth/principal.js';
import { confirmIdOf, type RestChatHandler } from '../routes/chat.js';
import type { ConfirmAction, ConfirmDecision, ConfirmEdit, TurnSink } from '../ws/index.js';

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

/** What a button says: approve, reject, or edit (ask for the new text first). */
export type ConfirmChoice = 'approve' | 'reject' | 'edit';

/** The answer a turn goes on with: approved (possibly with the user's edit) or rejected. */
export interface ConfirmAnswer {
  approved: boolean;
  edit?: ConfirmEdit | undefined;
}

/** Longest edited text taken (the WebSocket's and REST's limit on `edit.text`). */
export const EDIT_TEXT_MAX = 20_000;

export type PressOutcome =
  | { kind: 'answered'; approved: boolean; choice: ConfirmChoice; pending: PendingConfirm }
  | { kind: 'stale' }
  | { kind: 'foreign' }
  | { kind: 'malformed' };

const DATA = /^cf:([A-Za-z0-9_-]{16}):([yne])$/;
const CHOICE = { y: 'approve', n: 'reject', e: 'edit' } as const;

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

  #editKey(chat: string): string {
    return `${this.#prefix}:channels:confirm-edit:${chat}`;
  }

  /** Stores a request for `action`; its buttons carry `approve` / `edit` / `reject`. */
  async open(
    pending: Omit<PendingConfirm, 'confirmId'>,
    action: ConfirmAction,
  ): Promise<{ id: string; approve: string; edit: string; reject: string }> {
    const id = randomBytes(12).toString('base64url');
    const record: PendingConfirm = { ...pending, confirmId: confirmIdOf(action) };
    await this.redis.set(this.#key(id), JSON.stringify(record), 'PX', this.#ttlMs);
    return { id, approve: `cf:${id}:y`, edit: `cf:${id}:e`, reject: `cf:${id}:n` };
  }

  /** The open request a button names, and whether `chat` may answer it; nothing is taken. */
  async peek(data: string | undefined, chat: string | undefined): Promise<PressOutcome & { id?: string }> {
    const m = DATA.exec(data ?? '');
    if (!m) return { kind: 'malformed' };
    const raw = await this.redis.get(this.#key(m[1]!));
    if (raw === null) return { kind: 'stale' };
    const pending = JSON.parse(raw) as PendingConfirm;
    if (pending.chat !== chat) return { kind: 'foreign' };
    const choice = CHOICE[m[2] as keyof typeof CHOICE];
    return { kind: 'answered', approved: choice !== 'reject', choice, pending, id: m[1]! };
  }

  /** Takes the request: true for exactly one caller, false when another press (or expiry) came first. */
  async take(id: string): Promise<boolean> {
    return (await this.redis.del(this.#key(id))) === 1;
  }

  /**
   * After an Edit press: `chat`'s next message is the new text for request `id` (for as long as
   * the request lives). A later Edit press, on this request or another, replaces it.
   */
  async awaitEdit(id: string, chat: string, ref?: string): Promise<boolean> {
    const ttl = await this.redis.pttl(this.#key(id));
    if (ttl <= 0) return false;
    await this.redis.set(this.#editKey(chat), JSON.stringify({ id, ref }), 'PX', ttl);
    return true;
  }

  /** Whether `chat` owes an edited text now (nothing is taken). */
  async owesEdit(chat: string): Promise<boolean> {
    return (await this.redis.exists(this.#editKey(chat))) === 1;
  }

  /**
   * The request `chat` owes an edited text for, taken (once) with the message that carries it:
   * `none` when it owes nothing (the message is an ordinary one), `stale` when the request was
   * answered or expired meanwhile, otherwise the request, already taken from the store. `slot`
   * is where the edit is owed when that is narrower than the chat (the key given to
   * `awaitEdit`, e.g. a Slack user in one channel and thread); the request must still be `chat`'s.
   */
  async takeEdit(
    chat: string,
    slot: string = chat,
  ): Promise<
    { kind: 'none' } | { kind: 'stale' } | { kind: 'edit'; id: string; pending: PendingConfirm; ref?: string }
  > {
    const owed = await this.redis.getdel(this.#editKey(slot));
    if (owed === null) return { kind: 'none' };
    const { id, ref } = JSON.parse(owed) as { id: string; ref?: string };
    const raw = await this.redis.get(this.#key(id));
    if (raw === null) return { kind: 'stale' };
    const pending = JSON.parse(raw) as PendingConfirm;
    if (pending.chat !== chat || !(await this.take(id))) return { kind: 'stale' };
    return { kind: 'edit', id, pending, ...(ref !== undefined ? { ref } : {}) };
  }

  /** Drops an awaited edit (the user sent `cancel`); the request itself stays open. */
  async cancelEdit(chat: string): Promise<boolean> {
    return (await this.redis.del(this.#editKey(chat))) === 1;
  }

  /** Forgets that `chat` owes an edit for request `id` (it was answered by a button instead). */
  async settled(id: string, chat: string): Promise<void> {
    const owed = await this.redis.get(this.#editKey(chat));
    if (owed !== null && (JSON.parse(owed) as { id: string }).id === id) await this.redis.del(this.#editKey(chat));
  }
}

/** What the new text of an edit is, or why it is refused. */
export function editTextOf(text: string): { ok: true; text: string } | { ok: false; why: string } {
  const t = text.trim();
  if (t.length === 0) return { ok: false, why: 'The new text is empty.' };
  if (t.length > EDIT_TEXT_MAX) return { ok: false, why: `The new text is longer than ${EDIT_TEXT_MAX} characters.` };
  return { ok: true, text: t };
}

/** What a chat shows after an Edit press. */
export const EDIT_PROMPT =
  'Send the new text as your next message: the action then runs with it. Send "cancel" to keep the buttons instead.';

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
  answer: ConfirmAnswer,
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
  // The same decision the WebSocket's confirm (with its edit) and REST's /chat/confirm give.
  const decision: ConfirmDecision = answer.approved
    ? { confirmed: true, ...(answer.edit ? { edit: answer.edit } : {}) }
    : { confirmed: false, reason: 'rejected' };
  let first = true;
  await handler.handle(
    {
      principal,
      turnId,
      threadId: pending.threadId,
      clientMessageId: turnId,
      text: answer.approved ? 'yes' : 'no',
    },
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
