/**
 * The coach's pen: the morning message written through the model router as a `coaching`
 * call (tier 2), under the workspace's model policy and cost cap, recorded in the usage
 * ledger like every other call. The coach checks what comes back; this only writes.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { Db } from '../core/index.js';
import type { CoachWriter } from '../coach/index.js';
import type { ModelRouter } from './models/index.js';
import { readTurnSettings } from './settings-cache.js';

export function coachWriter(router: ModelRouter, db: Db): CoachWriter {
  return async ({ workspaceId, userId, system, user }) => {
    const { policy } = await readTurnSettings(db, workspaceId);
    // The coach checks the whole text before anything is sent: no stream is needed.
    const { text, result } = await router.complete(
      { workspaceId, userId, policy },
      { taskKind: 'coaching', messages: [new SystemMessage(system), new HumanMessage(user)], temperature: 0.3 },
    );
    return { text, model: result.model };
  };
}
