/**
 * The journal of a platform's own handle for one target (`publish_handles`): an upload
 * session URI, a publish id, a registered media id. A connector saves it before the step
 * that must not happen twice; after a crash the next attempt loads it and resumes or settles
 * instead of uploading a second video. Sealed with the credentials' cipher and bound to the
 * target (an upload session URI lets whoever holds it upload into the account).
 */
import { and, eq, sql } from 'drizzle-orm';
import { schema, type Db, type SecretCipher } from '../../core/index.js';
import { checkFence, type PublishJournal } from '../../connectors/index.js';

const { publishHandles } = schema;

const aad = (workspaceId: string, targetId: string) => `publish_handle:${workspaceId}:${targetId}`;

export function journalFor(
  deps: { db: Db; cipher: SecretCipher },
  target: { workspaceId: string; id: string },
  platform: string,
): PublishJournal {
  const where = and(eq(publishHandles.workspaceId, target.workspaceId), eq(publishHandles.targetId, target.id));
  return {
    async load() {
      const [row] = await deps.db.select().from(publishHandles).where(where);
      if (!row || row.platform !== platform) return null;
      const text = deps.cipher.open(
        { keyId: row.handleKeyId, ciphertext: row.handleCiphertext },
        aad(target.workspaceId, target.id),
      );
      return JSON.parse(text) as Record<string, unknown>;
    },
    async save(handle) {
      // A superseded attempt (connectors/fence.ts) must not overwrite the live one's handle.
      await checkFence('PUT');
      const sealed = deps.cipher.seal(JSON.stringify(handle), aad(target.workspaceId, target.id));
      await deps.db
        .insert(publishHandles)
        .values({
          workspaceId: target.workspaceId,
          targetId: target.id,
          platform,
          handleCiphertext: sealed.ciphertext,
          handleKeyId: sealed.keyId,
        })
        .onConflictDoUpdate({
          target: [publishHandles.workspaceId, publishHandles.targetId],
          set: { platform, handleCiphertext: sealed.ciphertext, handleKeyId: sealed.keyId, updatedAt: sql`now()` },
        });
    },
  };
}
