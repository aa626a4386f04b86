/**
 * The agent graph's state (checkpointed per thread) and what each run receives beside it:
 * the session's tool environment, where output goes, the router and the abort signal. The
 * run context travels in `configurable.herald`, never in the checkpoint.
 */
import type { BaseMessage } from '@langchain/core/messages';
import type { LangGraphRunnableConfig } from '@langchain/langgraph';
import { Annotation, messagesStateReducer } from '@langchain/langgraph';
import type { ModelPolicy, ModelRouter, ModelTurn } from '../models/index.js';
import type { AccountRef } from '../tools/accounts.js';
import type { FastResult } from './fast-path.js';
import type { ToolSelectionOptions } from './tool-select.js';
import type { ActionEdit, ProposedAction, ToolEnv } from '../tools/index.js';

/** The user's answer to one proposed action, as the graph is resumed with it. */
export type ConfirmAnswer =
  | { confirmed: true; edit?: ActionEdit | undefined }
  | { confirmed: false; reason: 'rejected' | 'expired' | 'cancelled'; message?: string | undefined };

/** What `interrupt()` carries out of the confirmation step. */
export interface ConfirmInterrupt {
  toolCallId: string;
  name: string;
  action: ProposedAction;
}

export type Decision =
  | { kind: 'run'; args: unknown; edited?: boolean; auto?: boolean }
  | { kind: 'rejected'; why: string }
  | { kind: 'failed'; error: { code: string; message: string } };

export const AgentState = Annotation.Root({
  messages: Annotation<BaseMessage[]>({ reducer: messagesStateReducer, default: () => [] }),
  /** Per tool call of the last AI message: run (with the confirmed arguments), rejected or failed. */
  decisions: Annotation<Record<string, Decision>>({ reducer: (_a, b) => b, default: () => ({}) }),
  /** The last tool calls came from the fast path: answer without the model. */
  fast: Annotation<boolean>({ reducer: (_a, b) => b, default: () => false }),
  /** What the cheap model made of the messages summarised away (long threads). */
  summary: Annotation<string>({ reducer: (_a, b) => b, default: () => '' }),
  /** The summarised messages held outside text: the summary counts as untrusted context. */
  summaryUntrusted: Annotation<boolean>({ reducer: (_a, b) => b, default: () => false }),
  /** The post and target the conversation is about ("move it to Friday"). */
  focus: Annotation<{ postId?: string; targetId?: string }>({
    reducer: (a, b) => ({ ...a, ...b }),
    default: () => ({}),
  }),
});

export type State = typeof AgentState.State;

/** Where a run's output goes: the channel's sink, as the agent sees it. */
export interface AgentOutput {
  token(text: string): void;
  toolStart(call: { toolCallId: string; name: string; input?: unknown }): void;
  toolEnd(result: {
    toolCallId: string;
    name: string;
    ok: boolean;
    output?: unknown;
    error?: { code: string; message: string };
  }): void;
}

/** When a thread is summarised: past `afterTokens` (estimated), all but the last `keepMessages` or so. */
export interface SummaryOptions {
  afterTokens: number;
  keepMessages: number;
}

export const SUMMARY_DEFAULTS: SummaryOptions = { afterTokens: 6_000, keepMessages: 8 };

export interface RunContext {
  env: ToolEnv;
  out: AgentOutput;
  router: ModelRouter;
  policy: ModelPolicy;
  /** Shared by the turn's model calls: a provider that hung in one is skipped by the others. */
  modelTurn: ModelTurn;
  signal: AbortSignal;
  /** A speculative run's hold (see `AgentTurn.hold`): tools wait for it to resolve true. */
  hold?: Promise<boolean> | undefined;
  /** Side-effect tools the workspace lets run without asking (never in an untrusted context). */
  autopilot: ReadonlySet<string>;
  summary: SummaryOptions;
  /** Which tools each model call is given (`tool-select.ts`). */
  tools: ToolSelectionOptions;
  /**
   * What the fast path made of the run's message when the handler asked it before the run
   * (a tool call to confirm, or null: not a fast-path command); `fast_path` takes it once.
   */
  fastResult?: FastResult | null | undefined;
  /** The accounts the system prompt lists, read once per graph run (the handler clears it before each). */
  promptAccounts?: Promise<AccountRef[]> | undefined;
}

export function runContextOf(config: LangGraphRunnableConfig): RunContext {
  const ctx = config.configurable?.herald as RunContext | undefined;
  if (!ctx) throw new Error('agent graph run without configurable.herald');
  return ctx;
}
