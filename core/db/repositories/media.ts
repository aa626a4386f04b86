/** Uploaded media records (the bytes live in storage; this is what we know about them). */
import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { media } from '../schema.js';

export type Media = typeof media.$inferSelect;
export type NewMedia = Omit<typeof media.$inferInsert, 'id' | 'workspaceId' | 'createdAt'>;

export async function insertMedia(db: Db, workspaceId: string, input: NewMedia): Promise<Media> {
  const [row] = await db
    .insert(media)
    .values({ ...input, workspaceId })
    .returning();
  return row!;
}

export async function getMedia(db: Db, workspaceId: string, mediaId: string): Promise<Media | undefined> {
  const [row] = await db
    .select()
    .from(media)
    .where(and(eq(media.workspaceId, workspaceId), eq(media.id, mediaId)));
  return row;
}

export function listMedia(db: Db, workspaceId: string, limit = 100): Promise<Media[]> {
  return db.select().from(media).where(eq(media.workspaceId, workspaceId)).orderBy(desc(media.createdAt)).limit(limit);
}

export async function deleteMedia(db: Db, workspaceId: string, mediaId: string): Promise<Media | undefined> {
  const [row] = await db
    .delete(media)
    .where(and(eq(media.workspaceId, workspaceId), eq(media.id, mediaId)))
    .returning();
  return row;
}
