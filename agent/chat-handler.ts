/**
 * The agent behind a chat channel: runs one turn of the graph on the thread of this person
 * and conversation, streams what it says and does to the channel's sink, and turns each
 * `interrupt()` of the confirmation step into a confirmation request, resuming the graph
 * with the answer. A confirmation left open when the turn ended (cancelled, server
 * restarted) stays in the checkpoint: the next message on the thread asks it again, so it is
 * answered — and the action done — exactly once.
 *
 * It satisfies `ChatHandler` of `server/ws` structurally, so this folder needs nothing from
 * the server.
 */
import { HumanMessage } from '@langchain/core/messages';
import { Command, type BaseCheckpointSaver } from '@langchain/langgraph';
import { getWorkspace, type Role } from '../core/index.js';
import type { KnowledgeDeps } from '../knowledge/index.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';
import { buildAgentGraph, type AgentGraph } from './graph/graph.js';
import type { AgentOutput, ConfirmAnswer, ConfirmInterrupt, RunContext } from './graph/state.js';
import { threadKey } from './memory/db-saver.js';
import { modelPolicyOf, type ModelRouter } from './models/index.js';
import type { ActionEdit, ProposedAction } from './tools/index.js';

export interface AgentTurn {
  principal: { userId: string | null; workspaceId: string; role: Role; timeZone: string; limitKey: string };
  turnId: string;
  threadId: string;
  text: string;
}

export type AgentDecision =
  | { confirmed: true; edit?: ActionEdit | undefined }
  | { confirmed: false; reason: 'rejected' | 'expired' | 'cancelled'; message?: string | undefined };

export interface AgentSink extends AgentOutput {
  confirm(action: ProposedAction): Promise<AgentDecision>;
}

export interface AgentOptions {
  deps: SchedulingDeps;
  /** The knowledge base the `search_knowledge` and `remember` tools use. */
  knowledge?: KnowledgeDeps | undefined;
  router: ModelRouter;
  checkpointer: BaseCheckpointSaver;
  /** Channel name written to the audit log. Default `ws`. */
  channel?: string;
  now?: () => Date;
}

/** A bare yes or no: the answer to a re-asked confirmation, not a new request. */
const BARE_ANSWER =
  /^\s*(y|yes|yep|ok|okay|sure|approve|approved|confirm|confirmed|go|go ahead|do it|no|nope|n|reject|cancel)\s*[.!]?\s*$/i;

export class AgentChatHandler {
  readonly graph: AgentGraph;
  readonly #options: AgentOptions;

  constructor(options: AgentOptions) {
    this.#options = options;
    this.graph = buildAgentGraph(options.checkpointer);
  }

  async handle(turn: AgentTurn, sink: AgentSink, signal: AbortSignal): Promise<void> {
    const { principal } = turn;
    const workspace = await getWorkspace(this.#options.deps.db, principal.workspaceId);
    const run: RunContext = {
      env: {
        deps: this.#options.deps,
        knowledge: this.#options.knowledge,
        session: {
          workspaceId: principal.workspaceId,
          userId: principal.userId,
          role: principal.role,
          timeZone: principal.timeZone,
          channel: this.#options.channel ?? 'ws',
        },
        now: this.#options.now ?? (() => new Date()),
      },
      out: sink,
      router: this.#options.router,
      policy: modelPolicyOf(workspace?.settings),
      signal,
    };
    const config = {
      configurable: { thread_id: threadKey(principal.workspaceId, principal.limitKey, turn.threadId), herald: run },
      signal,
      durability: 'sync' as const,
      recursionLimit: 40,
    };
    const human = { messages: [new HumanMessage(turn.text)] };
    // A confirmation left open by an earlier turn is asked again first.
    const open = await this.#pending(config);
    let leftover = open !== undefined && !BARE_ANSWER.test(turn.text);
    let next: unknown = open ? null : human;
    for (;;) {
      if (next !== null) {
        try {
          await this.graph.invoke(next as never, config);
        } catch (err) {
          if (signal.aborted) return;
          throw err;
        }
      }
      if (signal.aborted) return;
      const pending = await this.#pending(config);
      if (!pending) {
        if (!leftover) return;
        leftover = false;
        next = human;
        continue;
      }
      const decision = await sink.confirm(pending.action);
      // Cancelled (the turn ended): leave the interrupt in the checkpoint for the next turn.
      if (signal.aborted || (!decision.confirmed && decision.reason === 'cancelled')) return;
      const answer: ConfirmAnswer = decision.confirmed
        ? { confirmed: true, ...(decision.edit ? { edit: decision.edit } : {}) }
        : { confirmed: false, reason: decision.reason, ...(decision.message ? { message: decision.message } : {}) };
      next = new Command({ resume: answer });
    }
  }

  async #pending(config: { configurable: Record<string, unknown> }): Promise<ConfirmInterrupt | undefined> {
    const snapshot = await this.graph.getState(config);
    for (const task of snapshot.tasks) {
      const found = task.interrupts[0];
      if (found) return found.value as ConfirmInterrupt;
    }
    return undefined;
  }
}
