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
import { AIMessage, HumanMessage, RemoveMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import { Command, INTERRUPT, type BaseCheckpointSaver } from '@langchain/langgraph';
import type { Logger, Role } from '../core/index.js';
import type { KnowledgeDeps } from '../knowledge/index.js';
import type { ConnectDeps } from '../tools/accounts/index.js';
import type { LinksDeps } from '../tools/links/index.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';
import { fastPath, mightBeFast } from './graph/fast-path.js';
import { buildAgentGraph, fastAnswerUpdate, type AgentGraph } from './graph/graph.js';
import { TOOL_SELECTION_DEFAULTS, type ToolSelectionOptions } from './graph/tool-select.js';
import {
  SUMMARY_DEFAULTS,
  type AgentOutput,
  type State,
  type ConfirmAnswer,
  type ConfirmInterrupt,
  type RunContext,
  type SummaryOptions,
} from './graph/state.js';
import {
  DbCheckpointSaver,
  HOLD_WRITES,
  READ_MEMO,
  threadKey,
  WRITE_BEHIND,
  type ReadMemo,
} from './memory/db-saver.js';
import { startModelTurn, type ModelPolicy, type ModelRouter, type ModelTurn } from './models/index.js';
import { readTurnSettings, SettingsCache, type ChangeSignal, type TurnSettings } from './settings-cache.js';
import type { ActionEdit, ProposedAction, TextWriter } from './tools/index.js';
import type { MediaDeps } from '../tools/media/index.js';

export interface AgentTurn {
  principal: { userId: string | null; workspaceId: string; role: Role; timeZone: string; limitKey: string };
  turnId: string;
  threadId: string;
  text: string;
  /**
   * A speculative turn (voice: started at a short pause, before the user is known to be done):
   * resolves true when committed, false when dropped (the signal aborts then too). Until then
   * the run may stream the model's reply but writes nothing to the thread (the saver holds its
   * writes: `HOLD_WRITES`) and runs no tool; what cannot be run that way waits for it.
   */
  hold?: Promise<boolean> | undefined;
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
  /** Connecting social accounts (`connect_bluesky`); unset, the tool says it is unavailable. */
  accounts?: ConnectDeps | undefined;
  /** Tracked links (campaign tools); unset, the campaign tools say they are unavailable. */
  links?: LinksDeps | undefined;
  /** The media library (`upload_media_from_url`); unset, the tool says it is unavailable. */
  media?: MediaDeps | undefined;
  router: ModelRouter;
  checkpointer: BaseCheckpointSaver;
  /** Channel name written to the audit log. Default `ws`. */
  channel?: string;
  /** When long threads are summarised by the cheap model. Default `SUMMARY_DEFAULTS`. */
  summary?: Partial<SummaryOptions> | undefined;
  /** Which tools each model call is given. Default `TOOL_SELECTION_DEFAULTS` (docs/agent.md#tool-selection). */
  tools?: Partial<ToolSelectionOptions> | undefined;
  now?: () => Date;
  /**
   * When the workspace settings a turn reads (model policy, autopilot) may be served from
   * memory: the server passes its principal cache, whose epoch moves with every change to a
   * workspace (`settings-cache.ts`). Without it every turn reads the workspace row.
   */
  changes?: ChangeSignal | undefined;
  /** Where a fast-path turn whose record failed is reported. */
  logger?: Logger | undefined;
}

/**
 * How much of a run is written while it runs. A run that may do a side effect — resuming an
 * answered confirmation or an unfinished step, or any run where autopilot may act — writes
 * every step before the next starts (`sync`): the approval is stored before the action
 * begins, so a process that dies in the middle is finished from the journal, once. Any other
 * run cannot act before it stops at a confirmation, so it writes once, when it stops
 * (`exit`), and that write goes behind the run (`WRITE_BEHIND`): the answer goes out first,
 * since the write changes nothing of what was said. A confirmation is still stored before it
 * is shown (the handler waits for the write), and every later read of the thread in this
 * process waits for it; a process that dies in between loses only the record of a turn that
 * did nothing.
 */
function durabilityOf(input: unknown, run: RunContext): 'sync' | 'exit' {
  return input instanceof Command || input === null || run.autopilot.size > 0 ? 'sync' : 'exit';
}

/** A bare yes or no: the answer to a re-asked confirmation, not a new request. */
const BARE_ANSWER =
  /^\s*(y|yes|yep|ok|okay|sure|approve|approved|confirm|confirmed|go|go ahead|do it|no|nope|n|reject|cancel)\s*[.!]?\s*$/i;

export class AgentChatHandler {
  readonly graph: AgentGraph;
  readonly #options: AgentOptions;
  readonly #settings: SettingsCache | undefined;
  /** Per thread: the record of a fast-path answer still being written (`#record`). */
  readonly #recording = new Map<string, Promise<void>>();

  constructor(options: AgentOptions) {
    this.#options = options;
    this.#settings = options.changes && new SettingsCache(options.changes);
    this.graph = buildAgentGraph(options.checkpointer);
  }

  /** The workspace's model policy and autopilot, from the cache while nothing changed them. */
  #turnSettings(workspaceId: string): Promise<TurnSettings> {
    const load = () => readTurnSettings(this.#options.deps.db, workspaceId);
    return this.#settings ? this.#settings.get(workspaceId, load) : load();
  }

  /** Waits for everything written after a turn's answer (shutdown, benchmarks). */
  async settled(): Promise<void> {
    await Promise.all(this.#recording.values());
    if (this.#options.checkpointer instanceof DbCheckpointSaver) await this.#options.checkpointer.settled();
  }

  async handle(turn: AgentTurn, sink: AgentSink, signal: AbortSignal): Promise<void> {
    const { principal } = turn;
    const threadId = threadKey(principal.workspaceId, principal.limitKey, turn.threadId);
    // The thread as this process last left it: a fast-path answer's record is written first.
    await this.#recording.get(threadId);
    // The run right after the state is read starts from that read (the saver's read memo).
    const memo: ReadMemo = {};
    // A confirmation left open by an earlier turn is asked again first; an approved action
    // that never finished (the process died while it ran) is finished first, through the
    // journal. The thread and the workspace's settings are read side by side.
    const [settings, before] = await Promise.all([
      this.#turnSettings(principal.workspaceId),
      this.#open({ configurable: { thread_id: threadId, [READ_MEMO]: memo } }),
    ]);
    const { policy } = settings;
    // Speculative: a run that may act or is answered without a model (a confirmation to ask
    // again, an unfinished action, autopilot, a fast-path command) waits to be committed.
    let hold = turn.hold;
    if (
      hold &&
      (before.pending !== undefined || before.unfinished || settings.autopilot.length > 0 || mightBeFast(turn.text))
    ) {
      if (!(await hold)) return;
      hold = undefined;
    }
    const modelTurn = startModelTurn();
    const run: RunContext = {
      env: {
        deps: this.#options.deps,
        knowledge: this.#options.knowledge,
        accounts: this.#options.accounts,
        links: this.#options.links,
        media: this.#options.media,
        write: this.#writer(principal, policy, modelTurn, signal),
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
      policy,
      modelTurn,
      signal,
      hold,
      autopilot: new Set(settings.autopilot),
      summary: { ...SUMMARY_DEFAULTS, ...this.#options.summary },
      tools: { ...TOOL_SELECTION_DEFAULTS, ...this.#options.tools },
    };
    const config = {
      configurable: {
        thread_id: threadId,
        herald: run,
        [READ_MEMO]: memo,
        ...(hold ? { [HOLD_WRITES]: hold } : {}),
      },
      signal,
      recursionLimit: 40,
    };
    const human = { messages: [new HumanMessage(turn.text)] };
    let leftover = (before.pending !== undefined || before.unfinished) && !BARE_ANSWER.test(turn.text);
    // undefined: nothing to run before asking; null: resume the unfinished run.
    let next: unknown = before.pending ? undefined : before.unfinished ? null : human;
    let pending = before.pending;
    // A fast-path command, nothing open on the thread: answered before any graph run. A
    // read-only answer goes out at once and the turn is recorded after it; a tool call to
    // confirm (or no command after all) is handed to the run.
    if (next === human && mightBeFast(turn.text)) {
      const result = await fastPath(turn.text, run.env, before.focus);
      if (signal.aborted) return;
      if (result?.kind === 'answer') {
        sink.token(result.text);
        this.#record(threadId, memo, turn.text, result.text);
        return;
      }
      run.fastResult = result;
    }
    for (;;) {
      // invoke() returns the interrupt it stopped at, so the checkpoint need not be read again.
      if (next !== undefined) {
        run.promptAccounts = undefined;
        const durability = durabilityOf(next, run);
        // A run that cannot act has its checkpoint written behind it: its answer is out first.
        const configurable = { ...config.configurable, [WRITE_BEHIND]: durability === 'exit' };
        pending = await this.#invoke(next, { ...config, configurable, durability }, signal);
        // ...but a confirmation is stored before it is shown.
        if (pending && this.#options.checkpointer instanceof DbCheckpointSaver)
          await this.#options.checkpointer.written(threadId);
      }
      if (signal.aborted) return;
      if (!pending) {
        if (!leftover) return;
        leftover = false;
        next = human;
        continue;
      }
      // The user may take minutes: the run that follows reads the thread afresh.
      memo.state = 'spent';
      const decision = await sink.confirm(pending.action);
      // Cancelled (the turn ended): leave the interrupt in the checkpoint for the next turn.
      if (signal.aborted || (!decision.confirmed && decision.reason === 'cancelled')) return;
      const answer: ConfirmAnswer = decision.confirmed
        ? { confirmed: true, ...(decision.edit ? { edit: decision.edit } : {}) }
        : { confirmed: false, reason: decision.reason, ...(decision.message ? { message: decision.message } : {}) };
      next = new Command({ resume: answer });
    }
  }

  /**
   * Voice barge-in: the user heard only `spoken` of the answer to `turn` before cutting in, so
   * the thread keeps exactly that as the answer — the model later knows what the user heard,
   * not what it meant to say. A thread stopped at a tool call or a confirmation is left
   * alone: what is pending there is an action, not speech.
   */
  async keepSpoken(turn: AgentTurn, spoken: string): Promise<void> {
    const { principal } = turn;
    const threadId = threadKey(principal.workspaceId, principal.limitKey, turn.threadId);
    await this.#recording.get(threadId);
    const config = { configurable: { thread_id: threadId } };
    const snapshot = await this.graph.getState(config);
    // A run cancelled while the model streamed stops before `model`; anything else pending is an action.
    if (snapshot.next.some((node) => node !== 'model')) return;
    const messages = (snapshot.values as { messages?: BaseMessage[] }).messages ?? [];
    const last = messages.at(-1);
    const heard = spoken.trim();
    let update: BaseMessage | undefined;
    if (last && AIMessage.isInstance(last) && !last.tool_calls?.length && last.id) {
      // The cancelled run wrote its whole answer: replace it by what was heard, or drop it.
      update = heard ? new AIMessage({ id: last.id, content: heard }) : new RemoveMessage({ id: last.id });
    } else if (last && HumanMessage.isInstance(last) && heard) {
      // The run was cancelled before the answer was stored: store the part that was heard.
      update = new AIMessage(heard);
    }
    if (update) await this.graph.updateState(config, { messages: [update] }, 'model');
  }

  /** Runs the graph; the confirmation it paused at, if any. */
  async #invoke(
    input: unknown,
    config: Parameters<AgentGraph['invoke']>[1],
    signal: AbortSignal,
  ): Promise<ConfirmInterrupt | undefined> {
    try {
      const out = (await this.graph.invoke(input as never, config)) as Record<string, unknown>;
      const interrupts = out[INTERRUPT] as Array<{ value?: unknown }> | undefined;
      return interrupts?.[0]?.value as ConfirmInterrupt | undefined;
    } catch (err) {
      if (signal.aborted) return undefined;
      throw err;
    }
  }

  /** The session's model, for tools that write (drafts in the brand's voice). Its tokens are not streamed. */
  #writer(principal: AgentTurn['principal'], policy: ModelPolicy, turn: ModelTurn, signal: AbortSignal): TextWriter {
    return async ({ system, user }) => {
      const stream = await this.#options.router.stream(
        { workspaceId: principal.workspaceId, userId: principal.userId, policy, turn },
        { taskKind: 'short_draft', messages: [new SystemMessage(system), new HumanMessage(user)], signal },
      );
      let text = '';
      for await (const chunk of stream) text += typeof chunk.content === 'string' ? chunk.content : '';
      return text;
    };
  }

  /**
   * Records a fast-path answer in the thread as `fast_path` would have (the user's message,
   * then the answer), after the answer has gone out: the write changes nothing of what was
   * said, and a process that dies first loses only the record of a read-only answer. The
   * next turn on the thread in this process waits for it.
   */
  #record(threadId: string, memo: ReadMemo, text: string, answer: string): void {
    const update = { ...fastAnswerUpdate(answer) };
    update.messages = [new HumanMessage(text), ...(update.messages ?? [])];
    // The state read at the start of the turn is the one the record builds on (the read memo).
    const config = { configurable: { thread_id: threadId, [READ_MEMO]: memo } };
    const before = this.#recording.get(threadId) ?? Promise.resolve();
    const done = before
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.graph.updateState(config, update, 'fast_path'))
      .then(
        () => undefined,
        (err: unknown) => this.#options.logger?.error({ err, threadId }, 'a fast-path answer was not recorded'),
      );
    this.#recording.set(threadId, done);
    void done.then(() => {
      if (this.#recording.get(threadId) === done) this.#recording.delete(threadId);
    });
  }

  /**
   * The action this person's thread waits to have confirmed, if any: REST chat answers a
   * confirmation in a later request, and must know one is open before it sends "yes".
   */
  async pendingAction(principal: AgentTurn['principal'], threadId: string): Promise<ProposedAction | undefined> {
    const key = threadKey(principal.workspaceId, principal.limitKey, threadId);
    return (await this.#open({ configurable: { thread_id: key } })).pending?.action;
  }

  /** The confirmation the thread waits for, whether an approved step was left unfinished, and its focus. */
  async #open(config: {
    configurable: Record<string, unknown>;
  }): Promise<{ pending: ConfirmInterrupt | undefined; unfinished: boolean; focus: State['focus'] }> {
    const snapshot = await this.graph.getState(config);
    const focus = (snapshot.values as Partial<State>).focus ?? {};
    for (const task of snapshot.tasks) {
      const found = task.interrupts[0];
      if (found) return { pending: found.value as ConfirmInterrupt, unfinished: false, focus };
    }
    return { pending: undefined, unfinished: snapshot.next.includes('tools'), focus };
  }
}
