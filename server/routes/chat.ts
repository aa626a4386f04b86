/**
 * REST chat for scripts: `POST /v1/chat` runs one turn of the same chat handler the WebSocket
 * uses and answers with the whole reply, the tool calls and — when the agent wants to do
 * something that needs the user's yes — the exact action and a `confirmId`; with
 * `Accept: text/event-stream` it streams the turn's events instead, resumable by retrying the
 * same `clientMessageId` with `Last-Event-ID` (chat-stream.ts). The turn ends
 * there; the agent keeps the question in the thread's checkpoint (database), so
 * `POST /v1/chat/confirm` (or `/v1/chat/reject`) may reach any API process later. Confirm answers the question only
 * if it is still the one the client was shown (`confirmId` is a digest of the action), so an
 * approval can never apply to a different action.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HeraldError, isHeraldError } from '../../core/index.js';
import { contextOf } from '../http/context.js';
import type { Principal } from '../auth/principal.js';
import type { RestTurns } from './chat-stream.js';
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

/** Sees a turn's output as it happens (the SSE stream, chat-stream.ts). */
export interface TurnObserver {
  token(text: string): void;
  toolStart(call: ToolStart): void;
  toolEnd(end: ToolEnd): void;
  confirmRequest(request: NonNullable<TurnResult['confirmRequest']>): void;
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
  observer?: TurnObserver,
): Promise<TurnResult> {
  const result: TurnResult = { threadId, reply: '', toolCalls: [], confirmRequest: null };
  const stop = new AbortController();
  let answered = first === undefined;
  const turnId = randomUUID();
  await handler.handle(
    { principal, turnId, threadId, clientMessageId: turnId, text },
    {
      token: (t) => {
        if (stop.signal.aborted) return;
        result.reply += t;
        observer?.token(t);
      },
      toolStart: (call) => {
        if (stop.signal.aborted) return;
        result.toolCalls.push({ ...call });
        observer?.toolStart(call);
      },
      toolEnd: (end) => {
        const call = result.toolCalls.findLast((c) => c.toolCallId === end.toolCallId);
        if (!call) return;
        Object.assign(call, { ok: end.ok, output: end.output, ...(end.error ? { error: end.error } : {}) });
        observer?.toolEnd(end);
      },
      confirm: async (action) => {
        if (!answered) {
          answered = true;
          return first!(action);
        }
        // The client answers in another request: the turn ends, the question stays in the thread.
        result.confirmRequest = { confirmId: confirmIdOf(action), summary: action.summary, details: action.details };
        observer?.confirmRequest(result.confirmRequest);
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

export const chatRoutes: FastifyPluginAsyncZod<{ handler: RestChatHandler; turns?: RestTurns | undefined }> = async (
  app,
  { handler, turns },
) => {
  app.post(
    '/chat',
    {
      schema: {
        tags: ['chat'],
        summary:
          'One chat turn with the agent: the reply, the tool calls, and the action waiting for confirmation, if any; streamed as Server-Sent Events with Accept: text/event-stream (docs/protocol.md#rest-chat)',
        body: z.strictObject({
          message: z.string().min(1).max(20_000),
          threadId: ThreadId.optional().describe('The conversation; omit to start a new one (its id is returned)'),
          clientMessageId: z
            .string()
            .min(1)
            .max(128)
            .optional()
            .describe(
              'Your id for this message (idempotency): sent again within 10 minutes, it starts no second turn but answers with the first one (with Last-Event-ID, only the events after it)',
            ),
        }),
      },
    },
    async (req, reply) => {
      const { principal } = contextOf(req, 'viewer', 'rest');
      const threadId = req.body.threadId ?? randomUUID();
      if (!turns) return runTurn(handler, principal, threadId, req.body.message);
      const clientMessageId = req.body.clientMessageId ?? randomUUID();
      const { turnId } = await turns.start(principal, { threadId, message: req.body.message, clientMessageId });
      const gone = new AbortController();
      reply.raw.on('close', () => gone.abort());
      if (!(req.headers.accept ?? '').includes('text/event-stream'))
        return turns.result(principal, turnId, gone.signal, clientMessageId);

      const lastEventId = req.headers['last-event-id'];
      const afterSeq = turns.afterSeqOf(typeof lastEventId === 'string' ? lastEventId : undefined, turnId);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        ...(req.id ? { 'x-request-id': String(req.id) } : {}),
      });
      try {
        for await (const e of turns.follow(principal, turnId, afterSeq, gone.signal, clientMessageId))
          raw.write(`id: ${turnId}:${e.seq}\nevent: ${e.type}\ndata: ${e.json}\n\n`);
      } catch (err) {
        // Only while reading the journal (the turn itself ends with message_end): say so and end.
        const body = isHeraldError(err) ? err.toJSON() : { error: { code: 'internal', message: 'Stream failed' } };
        if (!raw.destroyed) raw.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
      } finally {
        raw.end();
      }
      return reply;
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
  // The WebSocket's `reject` as a route of its own: the same answer as `approve: false`.
  app.post(
    '/chat/reject',
    {
      schema: {
        tags: ['chat'],
        summary:
          'Reject the action a chat thread waits for (confirmId from POST /v1/chat): nothing is done, the agent is told no and the turn goes on',
        body: z.strictObject({
          threadId: ThreadId,
          confirmId: z.string().min(1).max(100),
          message: z.string().max(2000).optional().describe('Why, passed to the agent'),
        }),
      },
    },
    async (req) => {
      const { principal } = contextOf(req, 'viewer', 'rest');
      return confirmTurn(handler, principal, { ...req.body, approve: false });
    },
  );
};
