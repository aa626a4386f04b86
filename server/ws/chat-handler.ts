/**
 * The seam between the WebSocket protocol and whatever answers a chat turn. The LangGraph
 * agent (`agent/chat-handler.ts`) implements `ChatHandler` when a model provider is
 * configured; otherwise `EchoChatHandler` streams the user's words back and exercises every
 * kind of event (tokens, a tool call, a confirmation). The handler
 * sees a sink, never the socket: ids, `seq`, buffering for resume, backpressure and
 * cancellation bookkeeping all live on this side of the seam.
 */
import type { Principal } from '../auth/principal.js';

export interface ChatTurn {
  /** Who is talking; the handler scopes every read and write to `principal.workspaceId`. */
  principal: Principal;
  turnId: string;
  /** The conversation this turn belongs to (client-chosen, or new). Thread ids are only unique per workspace. */
  threadId: string;
  clientMessageId: string;
  text: string;
  /**
   * Set on a speculative turn (voice starts it at a short pause, before the user's turn is
   * judged over): resolves true when it is committed, false when it is dropped (the signal
   * aborts then too). Until it resolves true the handler must leave no trace: nothing written
   * to the conversation, no tool run; streaming a model's reply is fine (its events are held).
   */
  hold?: Promise<boolean>;
}

export interface ToolStart {
  toolCallId: string;
  name: string;
  input?: unknown;
}

export interface ToolEnd {
  toolCallId: string;
  name: string;
  ok: boolean;
  output?: unknown;
  /** A failed tool's error, as data the user (and the model) can read. */
  error?: { code: string; message: string };
}

/** The exact action shown to the user before a side effect (publish, schedule, delete, spend). */
export interface ConfirmAction {
  summary: string;
  details?: unknown;
}

/** What the user changed when approving (`confirm` with `edit`): the post's text, its time. */
export interface ConfirmEdit {
  text?: string | undefined;
  at?: string | undefined;
}

export type ConfirmDecision =
  | { confirmed: true; edit?: ConfirmEdit }
  | { confirmed: false; reason: 'rejected' | 'expired' | 'cancelled'; message?: string };

/**
 * Where a handler sends its output. Calls after the turn has ended (cancelled, failed) are
 * ignored, so a handler that notices `signal` late does no harm. Values must be JSON-serialisable.
 */
export interface TurnSink {
  /** A piece of the reply; the client appends pieces in order. */
  token(text: string): void;
  toolStart(call: ToolStart): void;
  toolEnd(result: ToolEnd): void;
  /**
   * Asks the user to confirm `action` and waits for the answer. Resolves (never rejects) with
   * `confirmed: false` when the user rejects, the request expires or the turn is cancelled.
   */
  confirm(action: ConfirmAction): Promise<ConfirmDecision>;
}

export interface ChatHandler {
  /**
   * Answers one turn through `sink`. Resolving ends the turn (`message_end` reason `done`);
   * throwing ends it with reason `error` (a `HeraldError` keeps its code, anything else is
   * `internal`). `signal` aborts when the user cancels, nobody is left to listen, or the
   * server shuts down; the handler should stop soon after.
   */
  handle(turn: ChatTurn, sink: TurnSink, signal: AbortSignal): Promise<void>;
  /**
   * Optional. A spoken reply was interrupted by the user (voice barge-in) and the turn
   * cancelled: the conversation should hold only `spoken` — what the user actually heard — as
   * the assistant's answer to `turn`. Called once the cancelled turn has ended.
   */
  keepSpoken?(turn: ChatTurn, spoken: string): Promise<void>;
}

/** Splits text before each word that follows whitespace: the pieces concatenate back to the text. */
export function wordsOf(text: string): string[] {
  return text.split(/(?<=\s)(?=\S)/).filter((w) => w.length > 0);
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Echoes the user's text word by word. A message starting with `/confirm` first asks for
 * confirmation, then on `confirm` runs a pretend `echo` tool and echoes the rest.
 */
export class EchoChatHandler implements ChatHandler {
  async handle(turn: ChatTurn, sink: TurnSink, signal: AbortSignal): Promise<void> {
    let text = turn.text;
    const command = /^\/confirm(?:\s+|$)/.exec(text);
    if (command) {
      text = text.slice(command[0].length) || '(nothing)';
      const decision = await sink.confirm({ summary: `Echo ${JSON.stringify(text)}`, details: { text } });
      if (signal.aborted) return;
      if (!decision.confirmed) {
        await stream(`Not confirmed (${decision.reason}).`, sink, signal);
        return;
      }
      const toolCallId = `${turn.turnId}:echo`;
      sink.toolStart({ toolCallId, name: 'echo', input: { text } });
      sink.toolEnd({ toolCallId, name: 'echo', ok: true, output: { text } });
    }
    await stream(text, sink, signal);
  }
}

async function stream(text: string, sink: TurnSink, signal: AbortSignal): Promise<void> {
  for (const word of wordsOf(text)) {
    if (signal.aborted) return;
    sink.token(word);
    // Yield between words, as a model stream would, so cancels and other sockets get a turn.
    await nextTick();
  }
}
