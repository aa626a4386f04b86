/**
 * Which embedder a workspace uses. The choice is a spec (`lexical`, `ollama:<model>`,
 * `openai:<model>`) kept in the workspace's settings (`settings.knowledge.embedder`), falling
 * back to the process's `KNOWLEDGE_EMBEDDER`. While a change is re-embedding, the new spec
 * waits in `settings.knowledge.next` and search keeps reading the active one. `Embedders`
 * turns specs into embedders, one instance per spec, so a remote model's learned dimension is
 * kept.
 */
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { HeraldError, schema, type Db } from '../core/index.js';
import { embedderFromSpec, type Embedder, type EmbedderEndpoints } from './embedders.js';

const { workspaces } = schema;

/** The spec of an embedder: `lexical` for the lexical embedders, else its model name. */
export const specOf = (embedder: Embedder) => (embedder.model.startsWith('lexical') ? 'lexical' : embedder.model);

/** Longest spec accepted. */
export const MAX_SPEC_LENGTH = 200;

/** Embedders by spec, built on demand from the endpoints the process knows, then kept. */
export class Embedders {
  readonly defaultSpec: string;
  readonly defaultEmbedder: Embedder;
  readonly #endpoints: EmbedderEndpoints;
  readonly #bySpec = new Map<string, Embedder>();

  /**
   * `defaultSpec` (the process's `KNOWLEDGE_EMBEDDER`) serves workspaces that chose none;
   * `defaultEmbedder` replaces what it would build (tests, the benchmark's recording embedder).
   */
  constructor(endpoints: EmbedderEndpoints, defaultSpec: string, defaultEmbedder?: Embedder) {
    this.#endpoints = endpoints;
    this.defaultEmbedder = defaultEmbedder ?? embedderFromSpec(defaultSpec, endpoints);
    this.defaultSpec = defaultEmbedder ? specOf(defaultEmbedder) : defaultSpec;
    this.#bySpec.set(this.defaultSpec, this.defaultEmbedder);
  }

  /** The embedder of a spec; `knowledge_embedder_invalid` (400) for one this process cannot build. */
  forSpec(spec: string): Embedder {
    const known = this.#bySpec.get(spec);
    if (known) return known;
    if (spec.length > MAX_SPEC_LENGTH || !/^(lexical|(ollama|openai):\S+)$/.test(spec))
      throw new HeraldError('knowledge_embedder_invalid', {
        message: `An embedder is "lexical", "ollama:<model>" or "openai:<model>", not "${spec.slice(0, MAX_SPEC_LENGTH)}"`,
        details: { embedder: spec.slice(0, MAX_SPEC_LENGTH), reason: 'unknown_kind' },
      });
    let embedder: Embedder;
    try {
      embedder = embedderFromSpec(spec, this.#endpoints);
    } catch (err) {
      throw new HeraldError('knowledge_embedder_invalid', {
        message: (err as Error).message,
        details: { embedder: spec, reason: 'not_configured' },
      });
    }
    this.#bySpec.set(spec, embedder);
    return embedder;
  }
}

/** Deps built without an `Embedders` (tests, older callers) get one around the store's embedder. */
const implicit = new WeakMap<Embedder, Embedders>();
export function embeddersOf(deps: { embedders?: Embedders | undefined; store: { embedder: Embedder } }): Embedders {
  if (deps.embedders) return deps.embedders;
  let e = implicit.get(deps.store.embedder);
  if (!e) implicit.set(deps.store.embedder, (e = new Embedders({}, specOf(deps.store.embedder), deps.store.embedder)));
  return e;
}

const ChangeSchema = z.object({
  embedder: z.string(),
  /** The re-embed job's id; a newer change replaces it, and the older job stops. */
  changeId: z.string(),
  requestedAt: z.string(),
  status: z.enum(['reembedding', 'failed']),
  error: z.object({ code: z.string(), message: z.string() }).nullable().optional(),
});

const KnowledgeSettingsSchema = z.object({
  /** The active embedder's spec; unset: the process default. */
  embedder: z.string().optional(),
  /** A change being re-embedded (or that failed). */
  next: ChangeSchema.nullable().optional(),
});

export type EmbedderChange = z.infer<typeof ChangeSchema>;
export type KnowledgeSettings = z.infer<typeof KnowledgeSettingsSchema>;

export async function readKnowledgeSettings(db: Db, workspaceId: string): Promise<KnowledgeSettings> {
  const [row] = await db
    .select({ knowledge: sql<unknown>`${workspaces.settings}->'knowledge'` })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  const parsed = KnowledgeSettingsSchema.safeParse(row?.knowledge ?? {});
  return parsed.success ? parsed.data : {};
}

/**
 * Replaces `settings.knowledge` alone (other settings untouched, in one statement); with
 * `ifChangeId`, only while that change is still the pending one. Returns whether it wrote.
 */
export async function writeKnowledgeSettings(
  db: Db,
  workspaceId: string,
  value: KnowledgeSettings,
  ifChangeId?: string,
): Promise<boolean> {
  const rows = await db
    .update(workspaces)
    .set({
      settings: sql`jsonb_set(${workspaces.settings}, '{knowledge}', ${JSON.stringify(value)}::jsonb, true)`,
      updatedAt: new Date(),
    })
    .where(
      ifChangeId === undefined
        ? eq(workspaces.id, workspaceId)
        : sql`${workspaces.id} = ${workspaceId} and ${workspaces.settings}->'knowledge'->'next'->>'changeId' = ${ifChangeId}`,
    )
    .returning({ id: workspaces.id });
  return rows.length > 0;
}

/** The spec the workspace's search and ingestion use now. */
export async function activeSpec(deps: { db: Db; embedders: Embedders }, workspaceId: string): Promise<string> {
  return (await readKnowledgeSettings(deps.db, workspaceId)).embedder ?? deps.embedders.defaultSpec;
}

/** The embedder the workspace's search and ingestion use now. */
export async function resolveEmbedder(
  deps: { db: Db; embedders?: Embedders | undefined; store: { embedder: Embedder } },
  workspaceId: string,
): Promise<Embedder> {
  const embedders = embeddersOf(deps);
  return embedders.forSpec(await activeSpec({ db: deps.db, embedders }, workspaceId));
}
