/**
 * What an agent tool is: a name, a zod schema the model's arguments must satisfy, the
 * service call it wraps, and — for side effects — the exact action the user confirms before
 * it runs. Every tool receives the session's workspace context and nothing else to reach
 * data with, so an id from another workspace finds nothing.
 */
import type { z } from 'zod';
import type { Role } from '../../core/index.js';
import type { KnowledgeDeps } from '../../knowledge/index.js';
import type { TextWriter } from '../../tools/drafting/index.js';
import type { SchedulingDeps } from '../../tools/scheduling/index.js';
import type { ConnectDeps } from '../../tools/accounts/index.js';
import type { LinksDeps } from '../../tools/links/index.js';
import type { MediaDeps } from '../../tools/media/index.js';

export interface AgentSession {
  workspaceId: string;
  userId: string | null;
  role: Role;
  /** IANA zone the user reads and says times in. */
  timeZone: string;
  /** ws | voice | slack | telegram | mcp */
  channel: string;
}

/** The exact action a side-effect tool would take, as shown to the user. */
export interface ProposedAction {
  summary: string;
  details: Record<string, unknown>;
}

/** What the user may change when approving (`confirm` with `edit`). */
export interface ActionEdit {
  text?: string | undefined;
  at?: string | undefined;
}

/** Asks the session's model for text (drafting in the brand's voice); unset, tools write nothing themselves. */
export type { TextWriter } from '../../tools/drafting/index.js';

export interface ToolEnv {
  deps: SchedulingDeps;
  /** The workspace's knowledge base; unset, the knowledge tools say it is unavailable. */
  knowledge?: KnowledgeDeps | undefined;
  write?: TextWriter | undefined;
  /** Connecting social accounts (`connect_bluesky`); unset, the tool says it is unavailable. */
  accounts?: ConnectDeps | undefined;
  /** Tracked links (campaign tools); unset, the campaign tools say they are unavailable. */
  links?: LinksDeps | undefined;
  /** The media library (`upload_media_from_url`); unset, the tool says it is unavailable. */
  media?: MediaDeps | undefined;
  session: AgentSession;
  now: () => Date;
}

/**
 * A side effect's entry in the action journal (`agent/memory/actions.ts`). A call replayed
 * after a crash sees `replay` and what the first attempt recorded, and continues from there
 * instead of doing the work twice.
 */
export interface ActionJournal {
  /** An earlier attempt of this very call started and never finished. */
  replay: boolean;
  progress: Record<string, unknown>;
  note(progress: Record<string, unknown>): Promise<void>;
}

/** For calls outside the graph (tests, scripts): nothing recorded, nothing replayed. */
export const NO_JOURNAL: ActionJournal = { replay: false, progress: {}, note: async () => undefined };

export interface HeraldTool<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  schema: S;
  /** Publishes, schedules, cancels, deletes or spends: confirmed by the user first. */
  sideEffect: boolean;
  /**
   * Its output carries text from outside (knowledge, replies, web), or text written from it:
   * marked untrusted for the model, and the turn loses autopilot. A function decides per output.
   */
  untrustedOutput?: boolean | ((output: unknown) => boolean);
  describe?: (env: ToolEnv, args: z.infer<S>) => Promise<ProposedAction>;
  /** Applies the user's edit to the arguments. */
  applyEdit?: (args: z.infer<S>, edit: ActionEdit) => z.infer<S>;
  run: (env: ToolEnv, args: z.infer<S>, journal: ActionJournal) => Promise<unknown>;
}

export function defineTool<S extends z.ZodType>(tool: HeraldTool<S>): HeraldTool {
  return tool as unknown as HeraldTool;
}
