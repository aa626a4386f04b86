/**
 * Public surface of the agent's tools: the registry, their JSON schemas for the model, and
 * `runTool`, which validates the model's arguments and turns every failure into data the
 * model (and the user) can read instead of an exception.
 */
import { z } from 'zod';
import { isHeraldError } from '../../core/index.js';
import { analyticsTools } from './analytics.js';
import { campaignTools } from './campaigns.js';
import { channelTools } from './channels.js';
import { coachTools } from './coach.js';
import { connectTools } from './connect.js';
import { draftTools } from './drafts.js';
import { knowledgeTools } from './knowledge.js';
import { linkTools } from './links.js';
import { mediaTools } from './media.js';
import { moreTools } from './more.js';
import { postTools } from './posts.js';
import { scheduleTools } from './schedules.js';
import { trendTools } from './trends.js';
import { NO_JOURNAL, type ActionJournal, type HeraldTool, type ToolEnv } from './types.js';

export type {
  ActionEdit,
  ActionJournal,
  AgentSession,
  HeraldTool,
  ProposedAction,
  TextWriter,
  ToolEnv,
} from './types.js';

export const TOOLS: ReadonlyMap<string, HeraldTool> = new Map(
  [
    postTools,
    mediaTools,
    scheduleTools,
    draftTools,
    analyticsTools,
    knowledgeTools,
    connectTools,
    trendTools,
    channelTools,
    campaignTools,
    linkTools,
    coachTools,
    moreTools,
  ]
    .flat()
    .map((t) => [t.name, t]),
);

/** The side-effect tools, which autopilot may be allowed for. */
export const SIDE_EFFECT_TOOLS: readonly string[] = [...TOOLS.values()].filter((t) => t.sideEffect).map((t) => t.name);

/** Whether this output of the tool carries outside text. */
export function isUntrustedOutput(tool: HeraldTool | undefined, output: unknown): boolean {
  const u = tool?.untrustedOutput;
  return typeof u === 'function' ? u(output) : !!u;
}

let modelToolsCache: ReturnType<typeof buildModelTools> | undefined;

function buildModelTools() {
  return [...TOOLS.values()].map((t) => ({
    type: 'function' as const,
    function: {
      name: t.name,
      description: t.sideEffect ? `${t.description} (Asks the user to confirm.)` : t.description,
      parameters: z.toJSONSchema(t.schema, { target: 'draft-7' }) as Record<string, unknown>,
    },
  }));
}

/** The tools in the OpenAI function format every provider's `bindTools` accepts (built once). */
export function modelTools() {
  modelToolsCache ??= buildModelTools();
  return modelToolsCache;
}

export type ToolOutcome = { ok: true; output: unknown } | { ok: false; error: { code: string; message: string } };

/** Validated arguments, or the readable reason they are not. */
export function parseArgs(
  tool: HeraldTool,
  args: unknown,
): { ok: true; args: unknown } | { ok: false; error: { code: string; message: string } } {
  const parsed = tool.schema.safeParse(args);
  if (parsed.success) return { ok: true, args: parsed.data };
  return {
    ok: false,
    error: {
      code: 'validation_failed',
      message: parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; '),
    },
  };
}

export function errorOf(err: unknown): { code: string; message: string } {
  if (isHeraldError(err)) {
    const issues = (err.details as { targets?: unknown } | undefined)?.targets;
    return { code: err.code, message: issues ? `${err.message}: ${JSON.stringify(issues)}` : err.message };
  }
  return { code: 'internal', message: 'The tool failed unexpectedly' };
}

export async function runTool(
  env: ToolEnv,
  name: string,
  args: unknown,
  journal: ActionJournal = NO_JOURNAL,
): Promise<ToolOutcome> {
  const tool = TOOLS.get(name);
  if (!tool)
    return {
      ok: false,
      error: { code: 'not_found', message: `There is no tool ${name}; more_tools lists the tools there are` },
    };
  const parsed = parseArgs(tool, args);
  if (!parsed.ok) return parsed;
  try {
    return { ok: true, output: await tool.run(env, parsed.args, journal) };
  } catch (err) {
    return { ok: false, error: errorOf(err) };
  }
}
