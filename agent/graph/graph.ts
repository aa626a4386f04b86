/**
 * Herald's agent graph (LangGraph StateGraph):
 *
 *   START ─┬→ fast_path ─┬→ END              (answered without a model)
 *          │             ├→ confirm          (a command it understood: one tool call)
 *          │             └→ model
 *          └→ model ─┬→ END                  (a reply)
 *                    ├→ tools                (read-only calls only)
 *                    └→ confirm → tools ─┬→ model (model calls)
 *                                        └→ END   (fast-path calls)
 *
 * Only a message shaped like a fast-path command visits `fast_path`; others go straight to
 * the model. `confirm` pauses with `interrupt()` once per side-effect call, carrying the
 * exact action; the graph is resumed with the user's answer. `tools` runs what was approved
 * and every read-only call (a side-effect call with no approval fails), and every failure
 * becomes a tool message the model can read.
 */
import {
  AIMessage,
  type AIMessageChunk,
  HumanMessage,
  SystemMessage,
  ToolMessage,
  type BaseMessage,
} from '@langchain/core/messages';
import {
  END,
  interrupt,
  START,
  StateGraph,
  type BaseCheckpointSaver,
  type LangGraphRunnableConfig,
} from '@langchain/langgraph';
import { randomUUID } from 'node:crypto';
import { runOnce } from '../memory/actions.js';
import { systemPrompt, toolResultText } from '../prompt.js';
import { showTime } from '../time.js';
import { workspaceAccounts } from '../tools/accounts.js';
import {
  errorOf,
  isUntrustedOutput,
  parseArgs,
  runTool,
  TOOLS,
  type ProposedAction,
  type ToolOutcome,
} from '../tools/index.js';
import { summariseIfLong, untrustedContext } from './context.js';
import { fastPath, mightBeFast } from './fast-path.js';
import { selectTools } from './tool-select.js';
import {
  AgentState,
  runContextOf,
  type ConfirmAnswer,
  type ConfirmInterrupt,
  type Decision,
  type State,
} from './state.js';

const FAST = 'herald_fast_path';

function lastAi(state: State): AIMessage | undefined {
  const last = state.messages.at(-1);
  return last instanceof AIMessage ? last : undefined;
}

function textOf(chunk: AIMessageChunk): string {
  if (typeof chunk.content === 'string') return chunk.content;
  return chunk.content.map((p) => (p.type === 'text' ? ((p as { text?: string }).text ?? '') : '')).join('');
}

/**
 * A fast-path answer as the thread records it: what `fast_path` writes when it answers. The
 * chat handler answers before the graph runs and records the turn with it (`updateState` as
 * `fast_path`, with the user's message first).
 */
export function fastAnswerUpdate(text: string): Partial<State> {
  return { fast: true, messages: [new AIMessage({ content: text, name: FAST })] };
}

async function fastPathNode(state: State, config: LangGraphRunnableConfig): Promise<Partial<State>> {
  const run = runContextOf(config);
  const last = state.messages.at(-1);
  if (!(last instanceof HumanMessage) || typeof last.content !== 'string') return { fast: false };
  // The handler may have read this very message already (it answers before the graph runs).
  const known = run.fastResult;
  run.fastResult = undefined;
  const result = known !== undefined ? known : await fastPath(last.content, run.env, state.focus);
  if (!result) return { fast: false };
  if (result.kind === 'answer') {
    run.out.token(result.text);
    return fastAnswerUpdate(result.text);
  }
  const call = { id: `fast_${randomUUID()}`, name: result.name, args: result.args, type: 'tool_call' as const };
  return { fast: true, messages: [new AIMessage({ content: '', name: FAST, tool_calls: [call] })] };
}

async function modelNode(state: State, config: LangGraphRunnableConfig): Promise<Partial<State>> {
  const run = runContextOf(config);
  const { env } = run;
  const thread = await summariseIfLong(state, run);
  const summary = thread.update?.summary ?? state.summary;
  const summaryUntrusted = thread.update?.summaryUntrusted ?? state.summaryUntrusted;
  const messages: BaseMessage[] = [
    new SystemMessage(
      systemPrompt(env.session, env.now(), await (run.promptAccounts ??= workspaceAccounts(env)), {
        summary,
        untrusted: summaryUntrusted,
      }),
    ),
    ...thread.messages,
  ];
  // Only the tools this turn plausibly needs (`more_tools` reaches the rest).
  const { tools, widerTools } = selectTools(thread.messages, run.tools);
  const stream = await run.router.stream(
    { workspaceId: env.session.workspaceId, userId: env.session.userId, policy: run.policy, turn: run.modelTurn },
    { taskKind: 'short_draft', messages, tools, ...(widerTools ? { widerTools } : {}), signal: run.signal },
  );
  let acc: AIMessageChunk | undefined;
  for await (const chunk of stream) {
    const text = textOf(chunk);
    if (text) run.out.token(text);
    acc = acc ? acc.concat(chunk) : chunk;
  }
  const calls = (acc?.tool_calls ?? []).map((c) => ({ ...c, id: c.id || `call_${randomUUID()}` }));
  const content = acc ? (typeof acc.content === 'string' ? acc.content : textOf(acc)) : '';
  const reply = new AIMessage({ content, tool_calls: calls });
  if (!thread.update) return { fast: false, messages: [reply] };
  return { ...thread.update, fast: false, messages: [...(thread.update.messages ?? []), reply] };
}

/**
 * Decides each tool call of the last AI message. Side effects are described (read-only work,
 * safe to repeat when the node re-runs on resume) and then wait in `interrupt()`.
 */
function confirmNode(state: State, config: LangGraphRunnableConfig): Partial<State> | Promise<Partial<State>> {
  return (async () => {
    const run = runContextOf(config);
    const decisions: Record<string, Decision> = {};
    // Autopilot never applies while outside text is in the context: it may have asked for this.
    const autopilot = run.autopilot.size > 0 && !untrustedContext(state) ? run.autopilot : new Set<string>();
    for (const call of lastAi(state)?.tool_calls ?? []) {
      const id = call.id!;
      const tool = TOOLS.get(call.name);
      if (!tool?.sideEffect) {
        decisions[id] = { kind: 'run', args: call.args };
        continue;
      }
      const parsed = parseArgs(tool, call.args);
      if (!parsed.ok) {
        decisions[id] = { kind: 'failed', error: parsed.error };
        continue;
      }
      let action: ProposedAction;
      try {
        action = await tool.describe!(run.env, parsed.args as never);
      } catch (err) {
        // Nothing to confirm: the id is not in this workspace, the draft is gone, the time is unreadable.
        decisions[id] = { kind: 'failed', error: errorOf(err) };
        continue;
      }
      const shown = (args: Record<string, unknown>) =>
        typeof action.details.at === 'string' && 'at' in args ? { ...args, at: action.details.at } : args;
      if (autopilot.has(call.name)) {
        decisions[id] = { kind: 'run', args: shown(parsed.args as Record<string, unknown>), auto: true };
        continue;
      }
      const payload: ConfirmInterrupt = { toolCallId: id, name: call.name, action };
      // Outside any try: interrupt() pauses the graph by throwing.
      const answer = interrupt<ConfirmInterrupt, ConfirmAnswer>(payload);
      if (!answer.confirmed) {
        decisions[id] = {
          kind: 'rejected',
          why:
            answer.reason === 'expired'
              ? 'nobody answered in time'
              : answer.message
                ? `the user said: ${answer.message}`
                : 'the user said no',
        };
        continue;
      }
      // Run exactly what was shown: the time as it was read when the user saw it.
      const args = shown(parsed.args as Record<string, unknown>);
      if (answer.edit && tool.applyEdit) {
        const edited = parseArgs(tool, tool.applyEdit(args as never, answer.edit));
        decisions[id] = edited.ok
          ? { kind: 'run', args: edited.args, edited: true }
          : { kind: 'failed', error: edited.error };
      } else decisions[id] = { kind: 'run', args };
    }
    return { decisions };
  })();
}

function focusOf(output: unknown): State['focus'] {
  const o = output as { postId?: unknown; targetId?: unknown; targets?: Array<{ targetId?: unknown }> } | null;
  if (!o || typeof o !== 'object') return {};
  const focus: State['focus'] = {};
  if (typeof o.postId === 'string') focus.postId = o.postId;
  if (typeof o.targetId === 'string') focus.targetId = o.targetId;
  else if (Array.isArray(o.targets) && o.targets.length === 1 && typeof o.targets[0]?.targetId === 'string')
    focus.targetId = o.targets[0].targetId;
  return focus;
}

async function toolsNode(state: State, config: LangGraphRunnableConfig): Promise<Partial<State>> {
  const run = runContextOf(config);
  // A speculative run (voice) runs no tool before it is committed; dropped, it runs none.
  if (run.hold && !(await run.hold)) return { decisions: {} };
  const threadId = String(config.configurable?.thread_id);
  const messages: ToolMessage[] = [];
  const replies: string[] = [];
  let focus: State['focus'] = {};
  for (const call of lastAi(state)?.tool_calls ?? []) {
    const id = call.id!;
    const tool = TOOLS.get(call.name);
    // Read-only calls come here without a decision (not through `confirm`); side effects never do.
    const decision: Decision =
      state.decisions[id] ??
      (tool?.sideEffect
        ? { kind: 'failed', error: { code: 'internal', message: 'not decided' } }
        : { kind: 'run', args: call.args });
    if (decision.kind === 'rejected') {
      messages.push(
        new ToolMessage({ tool_call_id: id, name: call.name, status: 'error', content: `Not done: ${decision.why}.` }),
      );
      replies.push('OK, I left it as it was.');
      continue;
    }
    run.out.toolStart({ toolCallId: id, name: call.name, input: decision.kind === 'run' ? decision.args : call.args });
    let outcome: ToolOutcome;
    if (decision.kind !== 'run') outcome = { ok: false, error: decision.error };
    else if (!tool?.sideEffect) outcome = await runTool(run.env, call.name, decision.args);
    else {
      // Journaled: a replay of this step after a crash does not do the side effect twice.
      const key = { workspaceId: run.env.session.workspaceId, threadId, toolCallId: id, tool: call.name };
      outcome = await runOnce(run.env.deps.db, key, (journal) => runTool(run.env, call.name, decision.args, journal));
    }
    run.out.toolEnd({
      toolCallId: id,
      name: call.name,
      ok: outcome.ok,
      ...(outcome.ok ? { output: outcome.output } : { error: outcome.error }),
    });
    if (outcome.ok) {
      focus = { ...focus, ...focusOf(outcome.output) };
      const note =
        decision.kind === 'run' && decision.edited
          ? "Done with the user's edit. "
          : decision.kind === 'run' && decision.auto
            ? 'Done on autopilot (the workspace allows it without asking). '
            : '';
      messages.push(
        new ToolMessage({
          tool_call_id: id,
          name: call.name,
          content: note + toolResultText(outcome.output, isUntrustedOutput(tool, outcome.output)),
        }),
      );
      replies.push(fastReply(call.name, outcome.output, run.env.session.timeZone));
    } else {
      messages.push(
        new ToolMessage({
          tool_call_id: id,
          name: call.name,
          status: 'error',
          content: `Error ${outcome.error.code}: ${outcome.error.message}`,
        }),
      );
      replies.push(`That did not work: ${outcome.error.message}`);
    }
  }
  if (!state.fast) return { messages, focus, decisions: {} };
  // A fast-path command: say what happened without a model.
  const text = replies.join('\n');
  run.out.token(text);
  return { messages: [...messages, new AIMessage({ content: text, name: FAST })], focus, decisions: {} };
}

function fastReply(name: string, output: unknown, zone: string): string {
  const o = output as { platform?: string; at?: string | null; targets?: Array<{ platform?: string }> };
  const where = o.platform ?? o.targets?.map((t) => t.platform).join(', ') ?? '';
  switch (name) {
    case 'cancel':
      return `Cancelled the ${where} post.`;
    case 'reschedule':
      return `Moved the ${where} post to ${o.at ? showTime(new Date(o.at), zone) : 'its new time'} (${zone}).`;
    case 'publish_now':
      return `Publishing now on ${where}.`;
    default:
      return 'Done.';
  }
}

/** Where a run starts: the fast path only for a message shaped like one of its commands. */
function entry(state: State): 'fast_path' | 'model' {
  const last = state.messages.at(-1);
  return last instanceof HumanMessage && typeof last.content === 'string' && mightBeFast(last.content)
    ? 'fast_path'
    : 'model';
}

/** After the model: its reply ends the run; calls with a side effect are confirmed first. */
function afterModel(state: State): 'confirm' | 'tools' | typeof END {
  const calls = lastAi(state)?.tool_calls ?? [];
  if (calls.length === 0) return END;
  return calls.some((c) => TOOLS.get(c.name)?.sideEffect !== false) ? 'confirm' : 'tools';
}

export function buildAgentGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(AgentState)
    .addNode('fast_path', fastPathNode)
    .addNode('model', modelNode)
    .addNode('confirm', confirmNode)
    .addNode('tools', toolsNode)
    .addConditionalEdges(START, entry, ['fast_path', 'model'])
    .addConditionalEdges('fast_path', (s) => (!s.fast ? 'model' : lastAi(s)?.tool_calls?.length ? 'confirm' : END), [
      'model',
      'confirm',
      END,
    ])
    .addConditionalEdges('model', afterModel, ['confirm', 'tools', END])
    .addEdge('confirm', 'tools')
    .addConditionalEdges('tools', (s) => (s.fast ? END : 'model'), ['model', END])
    .compile({ checkpointer });
}

export type AgentGraph = ReturnType<typeof buildAgentGraph>;
