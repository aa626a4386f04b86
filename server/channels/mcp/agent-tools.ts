/**
 * `ask_herald` (one turn of Herald's agent) and `confirm_action` (the answer to the action it
 * proposed), the REST chat's `runTurn` / `confirmTurn` behind MCP. Nothing irreversible
 * happens on one `ask_herald` call unless the person says yes in between:
 *
 * - A client that declared the `elicitation` capability, on a connection that can carry a
 *   request from the server (a stateful session answered over SSE), is asked through
 *   `elicitation/create` during the call: accept with `approve: true` confirms exactly that
 *   action (through `confirmTurn`, so once); accept with `approve: false`, or decline, rejects
 *   it (nothing is done, the agent is told no); cancel (dismissed), or no answer, leaves it
 *   pending and returns `confirmRequest` for a later `confirm_action`.
 * - Any other client gets `confirmRequest` back and answers with `confirm_action`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.js';
import { confirmTurn, runTurn, type RestChatHandler, type TurnResult } from '../../routes/chat.js';
import * as out from './outputs.js';
import { IdempotencyKey } from './tools.js';

/** How long `ask_herald` waits for the person to answer an elicitation before leaving the action pending. */
export const ELICIT_TIMEOUT_MS = 5 * 60_000;

type Run = (fn: () => Promise<unknown>) => () => Promise<CallToolResult>;
type Once = <T>(operation: string, a: { idempotencyKey?: string | undefined }, fn: () => Promise<T>) => Promise<T>;

export interface AgentToolsOptions {
  /**
   * Whether this connection can carry a server-to-client request during a call (a stateful
   * session whose answers are SSE). Read at call time.
   */
  canElicit: () => boolean;
  elicitTimeoutMs?: number | undefined;
}

type Outcome = 'accepted' | 'declined' | 'cancelled';

/** Both turns as one result: the first turn's tool calls and reply, then the answer's. */
function joined(first: TurnResult, then: TurnResult, elicitation: Outcome) {
  return {
    threadId: then.threadId,
    reply: [first.reply, then.reply].filter((r) => r.trim() !== '').join('\n\n'),
    toolCalls: [...first.toolCalls, ...then.toolCalls],
    confirmRequest: then.confirmRequest,
    elicitation,
  };
}

export function registerAgentTools(
  server: McpServer,
  chat: RestChatHandler,
  principal: Principal,
  run: Run,
  once: Once,
  opts: AgentToolsOptions,
): void {
  /** Puts the proposed action to the person; `undefined` when this client cannot be asked. */
  const ask = async (
    confirm: NonNullable<TurnResult['confirmRequest']>,
    requestId: string | number,
  ): Promise<ElicitResult | undefined> => {
    if (!opts.canElicit() || !server.server.getClientCapabilities()?.elicitation) return undefined;
    try {
      return await server.server.elicitInput(
        {
          mode: 'form',
          message: `Herald will do this only if you approve: ${confirm.summary}`,
          requestedSchema: {
            type: 'object',
            properties: {
              approve: {
                type: 'boolean',
                title: 'Approve',
                description: 'Yes: Herald does exactly this action. No: nothing is done.',
              },
            },
            required: ['approve'],
          },
        },
        { relatedRequestId: requestId, timeout: opts.elicitTimeoutMs ?? ELICIT_TIMEOUT_MS },
      );
    } catch {
      // No answer (timeout, the client failed or left): as if dismissed, the action stays pending.
      return { action: 'cancel' };
    }
  };

  server.registerTool(
    'ask_herald',
    {
      description:
        "Runs one turn of Herald's own agent (the same as its chat). A side effect the agent proposes is NOT done on this call alone: if your client supports elicitation you are asked to approve it during the call; otherwise it comes back as confirmRequest (confirmId, summary) for confirm_action.",
      inputSchema: {
        message: z.string().min(1).max(20_000),
        threadId: z.string().min(1).max(200).optional().describe('The conversation; omit to start one'),
        idempotencyKey: IdempotencyKey,
      },
      outputSchema: out.TurnOut,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (a, extra) =>
      run(() =>
        once('ask_herald', a, async () => {
          const first = await runTurn(chat, principal, a.threadId ?? randomUUID(), a.message);
          const confirm = first.confirmRequest;
          if (!confirm) return first;
          const answer = await ask(confirm, extra.requestId);
          if (!answer) return first;
          if (answer.action === 'cancel') return { ...first, elicitation: 'cancelled' satisfies Outcome };
          const approve = answer.action === 'accept' && answer.content?.approve === true;
          const then = await confirmTurn(chat, principal, {
            threadId: first.threadId,
            confirmId: confirm.confirmId,
            approve,
          });
          return joined(first, then, approve ? 'accepted' : 'declined');
        }),
      )(),
  );

  server.registerTool(
    'confirm_action',
    {
      description:
        'Approves (or rejects) the exact action ask_herald returned as confirmRequest; the agent then does it and goes on. Confirming twice does nothing more.',
      inputSchema: {
        threadId: z.string().min(1).max(200),
        confirmId: z.string().min(1).max(100),
        approve: z.boolean(),
      },
      outputSchema: out.TurnOut,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    (a) => run(() => confirmTurn(chat, principal, a))(),
  );
}
