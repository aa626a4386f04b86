/**
 * The agent's knowledge tools: `search_knowledge` (hybrid search of the workspace's knowledge
 * base; its output is outside text, so it is marked untrusted for the model), `read_source`
 * (one source's whole text in order, e.g. the brand guide; untrusted too) and `remember`
 * (stores a note the user asked it to keep). All reach only the session's workspace.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import {
  createSource,
  DOC_TYPES,
  getSourceText,
  searchKnowledge,
  type KnowledgeContext,
  type KnowledgeDeps,
} from '../../knowledge/index.js';
import { defineTool, type ToolEnv } from './types.js';

/** `read_source` hands the model at most this many characters of a source (a guide is far shorter). */
export const READ_SOURCE_MAX_CHARS = 60_000;

function knowledgeOf(env: ToolEnv): KnowledgeDeps {
  if (!env.knowledge)
    throw new HeraldError('chroma_unavailable', { message: 'The knowledge base is not available in this session' });
  return env.knowledge;
}

const ctxOf = (env: ToolEnv): KnowledgeContext => ({
  workspaceId: env.session.workspaceId,
  userId: env.session.userId,
  role: env.session.role,
  channel: 'agent',
  actorKind: 'agent',
});

export const knowledgeTools = [
  defineTool({
    name: 'search_knowledge',
    description:
      "Search the workspace's knowledge base (brand guide, past posts, products, best practices, notes, saved pages) for passages to follow or cite.",
    schema: z.object({
      query: z.string().min(1).max(500),
      types: z.array(z.enum(DOC_TYPES)).max(DOC_TYPES.length).optional().describe('Only these document types'),
      limit: z.number().int().min(1).max(20).optional(),
    }),
    sideEffect: false,
    untrustedOutput: true,
    run: async (env, args) => {
      const hits = await searchKnowledge(
        knowledgeOf(env),
        ctxOf(env),
        args.query,
        { types: args.types },
        args.limit ?? 6,
      );
      return hits.map((h) => ({
        text: h.text,
        source: { id: h.source.id, title: h.source.title, type: h.source.docType, url: h.source.url },
      }));
    },
  }),
  defineTool({
    name: 'read_source',
    description:
      "Read one knowledge source's whole text in its own order (the brand guide in full, a saved page, a note), by its id from search_knowledge. Text is null until a URL has been read.",
    schema: z.object({ sourceId: z.guid() }),
    sideEffect: false,
    untrustedOutput: true,
    run: async (env, args) => {
      const s = await getSourceText(knowledgeOf(env), ctxOf(env), args.sourceId);
      const truncated = (s.text?.length ?? 0) > READ_SOURCE_MAX_CHARS;
      return {
        id: s.id,
        title: s.title,
        type: s.docType,
        url: s.url,
        status: s.status,
        text: truncated ? s.text!.slice(0, READ_SOURCE_MAX_CHARS) : s.text,
        truncated,
      };
    },
  }),
  defineTool({
    name: 'remember',
    description: 'Save a note the user asked you to remember to the knowledge base, so later searches find it.',
    schema: z.object({
      text: z.string().min(1).max(20_000),
      title: z.string().min(1).max(200).optional(),
    }),
    sideEffect: false,
    run: async (env, args) => {
      const source = await createSource(knowledgeOf(env), ctxOf(env), {
        docType: 'note',
        format: 'text',
        title: args.title ?? (args.text.length > 60 ? `${args.text.slice(0, 59)}…` : args.text),
        text: args.text,
      });
      return { sourceId: source.id, status: source.status };
    },
  }),
];
