/**
 * Which tools a model call is given. All of them take about 10,000 tokens of definitions —
 * more than a small local model's window holds beside the system prompt and the thread — so
 * each call gets the core tools plus what the turn plausibly needs, chosen without a model:
 *
 * 1. always: the core (`list_accounts`, `more_tools`);
 * 2. always: the tools the model called since the user's last message (its work in progress,
 *    and the action a confirmation is about), and the groups it asked `more_tools` for then;
 * 3. tools named word for word in the user's last message;
 * 4. the groups whose words the user's last message uses (`agent/tools/groups.ts`), most
 *    words first;
 * 5. the tools called earlier in the thread, latest first, and groups asked for earlier;
 * 6. when the message used no group's words: the posts group.
 *
 * Steps 3–6 stop at a token budget: a group that does not fit whole gives the tools it can,
 * those whose names the message uses first, then in the group's order. Nothing is out of
 * reach: `more_tools` adds any group on the next step, and a call to a tool that was not
 * given runs like any other (the graph looks tools up by name, with the same checks).
 * Deterministic and cheap: a few regular expressions over one message and a walk over the
 * thread's tool calls; each distinct set is built once and kept, so the router's bound
 * models and size estimates (keyed by the list) are reused.
 */
import type { BindToolsInput } from '@langchain/core/language_models/chat_models';
import { AIMessage, HumanMessage, type BaseMessage } from '@langchain/core/messages';
import { LRUCache } from 'lru-cache';
import { CORE_TOOLS, DEFAULT_GROUP, TOOL_GROUPS, type ToolGroup } from '../tools/groups.js';
import { modelTools, TOOLS } from '../tools/index.js';

export const TOOL_MODES = ['select', 'fit', 'all'] as const;
export type ToolMode = (typeof TOOL_MODES)[number];

export interface ToolSelectionOptions {
  /**
   * `select`: every model gets the selected tools. `fit`: routed on the selected tools, but a
   * model whose window holds every tool (with the prompt and the reply) gets them all. `all`:
   * every tool on every call (a model too small for them is skipped). Default `select`.
   */
  mode: ToolMode;
  /** Estimated tokens of definitions steps 3–6 stay within. Default 3,000. */
  budgetTokens: number;
}

export const TOOL_SELECTION_DEFAULTS: ToolSelectionOptions = Object.freeze({ mode: 'select', budgetTokens: 3_000 });

export interface ToolSelection {
  /** The tools to bind (the same array for the same set). */
  tools: BindToolsInput[];
  /** Bound instead of `tools` by a model whose window holds them (`fit`). */
  widerTools?: BindToolsInput[];
  names: readonly string[];
  /** Groups the user's message pointed at (or the default one), in the order taken; the last may be partial. */
  groups: readonly string[];
  /** Estimated tokens of the bound definitions. */
  tokens: number;
}

type ModelTool = ReturnType<typeof modelTools>[number];

interface Catalogue {
  entries: Map<string, ModelTool>;
  /** Position in `TOOLS`: sets are bound in that order, whatever order they were chosen in. */
  order: Map<string, number>;
  tokens: Map<string, number>;
  matchers: Array<{ group: ToolGroup; re: RegExp }>;
  groups: Map<string, ToolGroup>;
}

let catalogue: Catalogue | undefined;

function catalogueOf(): Catalogue {
  if (catalogue) return catalogue;
  const entries = new Map(modelTools().map((t) => [t.function.name, t]));
  const names = [...TOOLS.keys()];
  catalogue = {
    entries,
    order: new Map(names.map((n, i) => [n, i])),
    tokens: new Map(names.map((n) => [n, Math.ceil(JSON.stringify(entries.get(n)).length / 4)])),
    matchers: TOOL_GROUPS.map((group) => ({ group, re: new RegExp(`\\b(?:${group.keywords.join('|')})\\b`, 'gi') })),
    groups: new Map(TOOL_GROUPS.map((g) => [g.name, g])),
  };
  return catalogue;
}

/** Each distinct set's bound list, kept so its identity (and the router's caches on it) last. */
const sets = new LRUCache<string, { tools: BindToolsInput[]; names: string[]; tokens: number }>({ max: 512 });

/** A message's text (string content, or its text parts). */
function textOf(m: BaseMessage): string {
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => (p.type === 'text' ? ((p as { text?: string }).text ?? '') : '')).join(' ');
}

/** The tools and `more_tools` groups of the AI messages in `messages`, latest first. */
function callsOf(messages: readonly BaseMessage[], from: number, to: number): { tools: string[]; groups: string[] } {
  const tools: string[] = [];
  const groups: string[] = [];
  for (let i = to - 1; i >= from; i--) {
    const m = messages[i]!;
    if (!AIMessage.isInstance(m)) continue;
    for (const call of m.tool_calls ?? []) {
      if (call.name === 'more_tools') {
        const asked = (call.args as { groups?: unknown }).groups;
        if (Array.isArray(asked)) for (const g of asked) if (typeof g === 'string') groups.push(g);
      } else if (TOOLS.has(call.name)) tools.push(call.name);
    }
  }
  return { tools, groups };
}

/** The groups a message's words point at, most matching words first (table order on ties). */
export function groupsOfText(text: string): string[] {
  const { matchers } = catalogueOf();
  const hits: Array<{ name: string; n: number; i: number }> = [];
  matchers.forEach(({ group, re }, i) => {
    let n = 0;
    for (const m of text.match(re) ?? []) n += m.split(/\s+/).length;
    if (n > 0) hits.push({ name: group.name, n, i });
  });
  return hits.sort((a, b) => b.n - a.n || a.i - b.i).map((h) => h.name);
}

/** The tools for the next model call on this thread (the messages the model is sent). */
export function selectTools(
  messages: readonly BaseMessage[],
  options: ToolSelectionOptions = TOOL_SELECTION_DEFAULTS,
): ToolSelection {
  const cat = catalogueOf();
  if (options.mode === 'all') {
    const tools = modelTools();
    return { tools, names: [...TOOLS.keys()], groups: [], tokens: sum(cat, TOOLS.keys()) };
  }
  let lastHuman = -1;
  for (let i = messages.length - 1; i >= 0; i--)
    if (HumanMessage.isInstance(messages[i])) {
      lastHuman = i;
      break;
    }
  const text = lastHuman >= 0 ? textOf(messages[lastHuman]!) : '';

  const chosen = new Set<string>();
  const add = (name: string) => {
    if (cat.entries.has(name)) chosen.add(name);
  };
  // 1–2: whatever the budget says.
  CORE_TOOLS.forEach(add);
  const now = callsOf(messages, lastHuman + 1, messages.length);
  now.tools.forEach(add);
  for (const g of now.groups) cat.groups.get(g)?.tools.forEach(add);

  // 3–6: within the budget.
  let left = options.budgetTokens;
  const lower = text.toLowerCase();
  /** Whole when it fits (true); else as many as fit, the ones the message names first. */
  const fits = (names: readonly string[]) => {
    const extra = names.filter((n) => cat.entries.has(n) && !chosen.has(n));
    const cost = sum(cat, extra);
    if (cost <= left) {
      left -= cost;
      extra.forEach((n) => chosen.add(n));
      return true;
    }
    const named = extra.filter((n) => namedIn(n, lower));
    for (const n of [...named, ...extra.filter((x) => !named.includes(x))]) {
      const c = cat.tokens.get(n)!;
      if (c > left) continue;
      left -= c;
      chosen.add(n);
    }
    return false;
  };
  for (const word of text.toLowerCase().match(/\b[a-z]+(?:_[a-z]+)+\b/g) ?? []) if (TOOLS.has(word)) fits([word]);
  const matched = groupsOfText(text);
  const taken: string[] = [];
  for (const g of matched) {
    fits(cat.groups.get(g)!.tools);
    taken.push(g);
  }
  const earlier = callsOf(messages, 0, lastHuman);
  for (const name of earlier.tools) fits([name]);
  for (const g of earlier.groups) {
    const group = cat.groups.get(g);
    if (group) fits(group.tools);
  }
  if (matched.length === 0) {
    fits(cat.groups.get(DEFAULT_GROUP)!.tools);
    taken.push(DEFAULT_GROUP);
  }

  const names = [...chosen].sort((a, b) => cat.order.get(a)! - cat.order.get(b)!);
  const key = names.join(',');
  let set = sets.get(key);
  if (!set) sets.set(key, (set = { tools: names.map((n) => cat.entries.get(n)!), names, tokens: sum(cat, names) }));
  return {
    tools: set.tools,
    ...(options.mode === 'fit' ? { widerTools: modelTools() } : {}),
    names: set.names,
    groups: taken,
    tokens: set.tokens,
  };
}

/** Name words that say nothing of what a tool is about. */
const GENERIC = new Set(['list', 'post', 'posts', 'from', 'with', 'suggest', 'create']);

/** The message uses a word of the tool's name ("cancel", "reschedule", "hashtags"; five letters say it). */
function namedIn(tool: string, text: string): boolean {
  return tool.split('_').some((w) => w.length >= 4 && !GENERIC.has(w) && text.includes(w.slice(0, 5)));
}

function sum(cat: Catalogue, names: Iterable<string>): number {
  let n = 0;
  for (const name of names) n += cat.tokens.get(name) ?? 0;
  return n;
}
