/**
 * Confirmation requests shown in a chat as buttons (a Telegram inline keyboard, Slack Block Kit
 * buttons). Each request gets a random id carried in its buttons (on Telegram the
 * `callback_data` `cf:<id>:y|n`, 21 bytes of the 64 allowed); a press is accepted once, from the
 * chat the request was sent to. A press on a
 * request that is no longer open (answered, expired, its turn cancelled, another process) or
 * from another chat is answered so with `answerCallbackQuery` and changes nothing.
 */
import { randomBytes } from 'node:crypto';
import type { LinkedMember } from '../../tools/channels/index.js';
import type { Principal } from '../auth/principal.js';
import type { ConfirmDecision } from '../ws/index.js';

/** How long a confirmation waits for a button before it expires. */
export const CONFIRM_TTL_MS = 15 * 60_000;

interface Open {
  chatId: number | string;
  settle: (d: ConfirmDecision) => void;
}

export type PressOutcome =
  | { kind: 'answered'; approved: boolean; chatId: number | string }
  | { kind: 'stale' }
  | { kind: 'foreign' }
  | { kind: 'malformed' };

const DATA = /^cf:([A-Za-z0-9_-]{16}):([yn])$/;

export class Confirmations {
  readonly #open = new Map<string, Open>();

  constructor(private readonly ttlMs = CONFIRM_TTL_MS) {}

  /** Opens a request for `chatId`; `decision` settles when pressed, expired or `signal` aborts. */
  open(
    chatId: number | string,
    signal: AbortSignal,
  ): { id: string; approve: string; reject: string; decision: Promise<ConfirmDecision> } {
    const id = randomBytes(12).toString('base64url');
    const decision = new Promise<ConfirmDecision>((resolve) => {
      const settle = (d: ConfirmDecision) => {
        if (this.#open.get(id)?.settle !== settle) return;
        this.#open.delete(id);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(d);
      };
      const timer = setTimeout(() => settle({ confirmed: false, reason: 'expired' }), this.ttlMs);
      timer.unref();
      const onAbort = () => settle({ confirmed: false, reason: 'cancelled' });
      signal.addEventListener('abort', onAbort, { once: true });
      this.#open.set(id, { chatId, settle });
      if (signal.aborted) onAbort();
    });
    return { id, approve: `cf:${id}:y`, reject: `cf:${id}:n`, decision };
  }

  /** A button press: settles its request when it is open and the press comes from its chat. */
  press(data: string | undefined, chatId: number | string | undefined): PressOutcome {
    const m = DATA.exec(data ?? '');
    if (!m) return { kind: 'malformed' };
    const open = this.#open.get(m[1]!);
    if (!open) return { kind: 'stale' };
    if (open.chatId !== chatId) return { kind: 'foreign' };
    const approved = m[2] === 'y';
    open.settle(approved ? { confirmed: true } : { confirmed: false, reason: 'rejected' });
    return { kind: 'answered', approved, chatId: open.chatId };
  }

  /** Cancels every open request (shutdown). */
  cancelAll(): void {
    for (const open of [...this.#open.values()]) open.settle({ confirmed: false, reason: 'cancelled' });
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
