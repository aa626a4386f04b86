/**
 * REST chat for scripts: `POST /v1/chat` runs one turn of the same chat handler the WebSocket
 * uses and answers with the whole reply, the tool calls and — when the agent wants to do
 * something that needs the user's yes — the exact action and a `confirmId`. The turn ends
 * there; the agent keeps the question in the thread's checkpoint (database), so
 * `POST /v1/chat/confirm` may reach any API process later. Confirm answers the question only
 * if it is still the one the client was shown (`confirmId` is a digest of the action), so an
 * approval can never apply to a different action.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { contextOf } from '../http/context.js';
import type { Principal } from '../auth/principal.js';
import type { ChatHandler, ConfirmAction, ConfirmDecision, ConfirmEdit, ToolEnd, ToolStart } from '../ws/index.js';

/** A handler that can say which action a thread waits on (the agent); without it, no `/chat/confirm`. */
export type RestChatHandler = ChatHandler & {
  pendingAction?(principal: Principal, threadId: string): Promise<ConfirmAction | undefined>;
};

const ThreadId = z.string().min(1).max(200);
const Edit = z.strictObject({
  text: z.string().min(1).max(20_000).optional(),
  at: z.string().min(1).max(200).optional(),
});

export const confirmIdOf = (action: ConfirmAction): string =>
  createHash('sha256')
    .update(JSON.stringify({ s: action.summary, d: action.details ?? null }))
    .digest('base64url')
    .slice(0, 22);

export interface TurnResult {
  threadId: string;
  reply: string;
  toolCalls: Array<ToolStart & Partial<Pick<ToolEnd, 'ok' | 'output' | 'error'>>>;
  confirmRequest: { confirmId: string; summary: string; details: unknown } | null;
}

/**
 * Runs one turn, collecting what the handler says. `first` answers the first confirmation the
 * handler asks (the confirm route); any other confirmation ends the turn and is returned.
 */
export async function runTurn(
  handler: ChatHandler,
  principal: Principal,
  threadId: string,
  text: string,
  first?: (action: ConfirmAction) => ConfirmDecision,
): Promise<TurnResult> {
  const result: TurnResult = { threadId, reply: '', toolCalls: [], confirmRequest: null };
  const stop = new AbortController();
  let answered = first === undefined;
  const turnId = randomUUID();
  await handler.handle(
    { principal, turnId, threadId, clientMessageId: turnId, text },
    {
      token: (t) => {
        if (!stop.signal.aborted) result.reply += t;
      },
      toolStart: (call) => {
        if (!stop.signal.aborted) result.toolCalls.push({ ...call });
      },
      toolEnd: (end) => {
        const call = result.toolCalls.findLast((c) => c.toolCallId === end.toolCallId);
        if (call) Object.assign(call, { ok: end.ok, output: end.output, ...(end.error ? { error: end.error } : {}) });
      },
      confirm: async (action) => {
        if (!answered) {
          answered = true;
          return first!(action);
        }
        // The client answers in another request: the turn ends, the question stays in the thread.
        result.confirmRequest = { confirmId: confirmIdOf(action), summary: action.summary, details: action.details };
        stop.abort();
        return { confirmed: false, reason: 'cancelled' };
      },
    },
    stop.signal,
  );
  return result;
}

/** Answers the action a thread waits for, if it is still the one `confirmId` names, and runs the rest of the turn. */
export async function confirmTurn(
  handler: RestChatHandler,
  principal: Principal,
  b: {
    threadId: string;
    confirmId: string;
    approve: boolean;
    edit?: ConfirmEdit | undefined;
    message?: string | undefined;
  },
): Promise<TurnResult> {
  if (!handler.pendingAction)
    throw new HeraldError('invalid_state', { message: 'This server has no agent to confirm actions for' });
  const pending = await handler.pendingAction(principal, b.threadId);
  if (!pending) throw new HeraldError('invalid_state', { message: 'Nothing on this thread waits for confirmation' });
  if (confirmIdOf(pending) !== b.confirmId)
    throw new HeraldError('conflict', {
      message: 'The thread waits for a different action than the one confirmed',
      details: { confirmId: confirmIdOf(pending), summary: pending.summary },
    });
  const decision: ConfirmDecision = b.approve
    ? { confirmed: true, ...(b.edit ? { edit: b.edit } : {}) }
    : { confirmed: false, reason: 'rejected', ...(b.message ? { message: b.message } : {}) };
  let seen: string | null = null;
  const result = await runTurn(handler, principal, b.threadId, b.approve ? 'yes' : 'no', (action) => {
    seen = confirmIdOf(action);
    // Changed between the check and the turn (another request answered it): answer nothing.
    return seen === b.confirmId ? decision : { confirmed: false, reason: 'cancelled' };
  });
  if (seen !== b.confirmId)
    throw new HeraldError('conflict', { message: 'The action was answered or changed meanwhile' });
  return result;
}

export const chatRoutes: FastifyPluginAsyncZod<{ handler: RestChatHandler }> = async (app, { handler }) => {
  app.post(
    '/chat',
    {
      schema: {
        tags: ['chat'],
        summary:
          'One chat turn with the agent: the reply, the tool calls, and the action waiting for confirmation, if any (docs/protocol.md#rest-chat)',
        body: z.strictObject({
          message: z.string().min(1).max(20_000),
          threadId: ThreadId.optional().describe('The conversation; omit to start a new one (its id is returned)'),
        }),
      },
    },
    async (req) => {
      const { principal } = contextOf(req, 'viewer', 'rest');
      return runTurn(handler, principal, req.body.threadId ?? randomUUID(), req.body.message);
    },
  );

  app.post(
    '/chat/confirm',
    {
      schema: {
        tags: ['chat'],
        summary:
          'Approve or reject the action a chat thread waits for (confirmId from POST /v1/chat); the turn then goes on',
        body: z.strictObject({
          threadId: ThreadId,
          confirmId: z.string().min(1).max(100),
          approve: z.boolean(),
          edit: Edit.optional().describe("Approve with the post's text or time changed"),
          message: z.string().max(2000).optional().describe('Why, when rejecting'),
        }),
      },
    },
    async (req) => {
      const { principal } = contextOf(req, 'viewer', 'rest');
      return confirmTurn(handler, principal, req.body);
    },
  );
};
