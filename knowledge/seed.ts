/**
 * Seed knowledge: the platform best practices in `seed/best-practices.md`, shipped with Herald
 * as data. Each `## ` section becomes one `best_practice` source, added to a workspace the first
 * time its knowledge base is used (a search, a list, a new source) when the deps carry seed
 * documents. Source ids are derived from (workspace, section), so two processes seeding the
 * same workspace at once insert each source once; an audit entry (`knowledge.seed`) marks the
 * workspace as seeded, so seed documents a user deleted do not come back.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { and, eq, sql } from 'drizzle-orm';
import { appendAudit, schema, type Db } from '../core/index.js';
import type { KnowledgeQueue } from './queue.js';

export interface SeedDocument {
  /** Stable key, e.g. `best-practices/x`. */
  key: string;
  title: string;
  text: string;
}

/** Bump when the seed text changes meaningfully: workspaces then receive the new documents. */
export const SEED_VERSION = 1;

export const SEED_FILE = new URL('./seed/best-practices.md', import.meta.url);

export function parseSeed(markdown: string): SeedDocument[] {
  const body = markdown.replace(/<!--[\s\S]*?-->/g, '');
  return body
    .split(/^## /m)
    .slice(1)
    .map((section) => {
      const [heading, ...rest] = section.split('\n');
      const name = heading!.trim();
      return {
        key: `best-practices/${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
        title: `Best practices: ${name}`,
        text: `# ${name}\n\n${rest.join('\n').trim()}`,
      };
    })
    .filter((d) => d.text.length > d.title.length);
}

export async function loadSeedDocuments(file: URL = SEED_FILE): Promise<SeedDocument[]> {
  return parseSeed(await readFile(file, 'utf8'));
}

/** A UUID derived from the workspace and the document key (SHA-256, version nibble 8). */
function seedId(workspaceId: string, key: string): string {
  const h = createHash('sha256').update(`${workspaceId}\u0000${key}\u0000${SEED_VERSION}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Workspaces this process already seeded (or found seeded). */
const seeded = new Set<string>();

export async function ensureSeeded(
  deps: { db: Db; queue: KnowledgeQueue; seed?: SeedDocument[] | undefined },
  workspaceId: string,
): Promise<number> {
  if (!deps.seed?.length || seeded.has(workspaceId)) return 0;
  const { auditLog } = schema;
  const done = await deps.db
    .select({ id: auditLog.id })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.workspaceId, workspaceId),
        eq(auditLog.action, 'knowledge.seed'),
        sql`${auditLog.details}->>'version' = ${String(SEED_VERSION)}`,
      ),
    )
    .limit(1);
  if (done.length) {
    seeded.add(workspaceId);
    return 0;
  }
  const rows = await deps.db
    .insert(schema.knowledgeSources)
    .values(
      deps.seed.map((d) => ({
        id: seedId(workspaceId, d.key),
        workspaceId,
        docType: 'best_practice',
        format: 'markdown',
        title: d.title,
        content: d.text,
        metadata: { seed: d.key, seedVersion: SEED_VERSION },
      })),
    )
    .onConflictDoNothing()
    .returning({ id: schema.knowledgeSources.id, generation: schema.knowledgeSources.generation });
  for (const r of rows) await deps.queue.enqueue({ workspaceId, sourceId: r.id, generation: r.generation });
  await appendAudit(deps.db, workspaceId, {
    actorKind: 'system',
    actorId: null,
    channel: 'system',
    action: 'knowledge.seed',
    subjectType: 'knowledge_base',
    subjectId: null,
    details: { version: String(SEED_VERSION), sources: rows.length },
  });
  seeded.add(workspaceId);
  return rows.length;
}
