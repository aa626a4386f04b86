/**
 * A text writer outside a chat turn (REST routes that write, e.g. the campaign content
 * suite): one `short_draft` call through the model router under the workspace's model
 * policy and cost cap, recorded in the usage ledger like every other call.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { Db } from '../core/index.js';
import type { TextWriter } from '../tools/drafting/index.js';
import type { ModelRouter } from './models/index.js';
import { readTurnSettings } from './settings-cache.js';

export function draftWriter(
  router: ModelRouter,
  db: Db,
  who: { workspaceId: string; userId: string | null },
): TextWriter {
  return async ({ system, user }) => {
    const { policy } = await readTurnSettings(db, who.workspaceId);
    const stream = await router.stream(
      { workspaceId: who.workspaceId, userId: who.userId, policy },
      { taskKind: 'short_draft', messages: [new SystemMessage(system), new HumanMessage(user)] },
    );
    let text = '';
    for await (const chunk of stream) text += typeof chunk.content === 'string' ? chunk.content : '';
    return text;
  };
}
