/**
 * `more_tools`: the way to every tool a turn was not given. Each turn binds only the tools it
 * plausibly needs (`agent/graph/tool-select.ts`); this tool, always bound, lists the groups
 * and adds the ones the model names to its next step (selection reads the call back from the
 * thread). It reads nothing and changes nothing.
 */
import { z } from 'zod';
import { GROUP_NAMES, TOOL_GROUPS } from './groups.js';
import { defineTool } from './types.js';

export const moreTools = [
  defineTool({
    name: 'more_tools',
    description: `Only some tools are given each turn. Call this with the groups you need and their tools are given on your next step; without groups it lists them. Groups: ${TOOL_GROUPS.map((g) => `${g.name} (${g.summary})`).join('; ')}.`,
    schema: z.object({
      groups: z
        .array(z.enum(GROUP_NAMES))
        .max(GROUP_NAMES.length)
        .optional()
        .describe('The groups whose tools you need next'),
    }),
    sideEffect: false,
    run: async (_env, args) => {
      const wanted = new Set(args.groups ?? []);
      if (wanted.size === 0)
        return { groups: TOOL_GROUPS.map((g) => ({ name: g.name, summary: g.summary, tools: g.tools })) };
      return {
        added: TOOL_GROUPS.filter((g) => wanted.has(g.name)).map((g) => ({ group: g.name, tools: g.tools })),
        note: 'These tools are yours from your next step on.',
      };
    },
  }),
];
