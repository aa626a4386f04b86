/**
 * The agent's chat-linking tool: one call into `tools/channels` (`createLinkCode`), the same
 * function the REST route calls. The code is shown to the user, who sends it to the bot.
 */
import { z } from 'zod';
import { CHANNELS, createLinkCode } from '../../tools/channels/index.js';
import { defineTool } from './types.js';

export const channelTools = [
  defineTool({
    name: 'create_chat_link_code',
    description:
      'Makes a one-time code (valid 10 minutes) that links a Telegram chat (or Slack user) to this user in this workspace: the user sends "/start <code>" to the Herald bot.',
    schema: z.object({ channel: z.enum(CHANNELS).describe('telegram or slack') }),
    sideEffect: false,
    run: (env, args) =>
      createLinkCode(
        { db: env.deps.db, now: env.now },
        {
          workspaceId: env.session.workspaceId,
          userId: env.session.userId,
          role: env.session.role,
          channel: env.session.channel,
        },
        args.channel,
      ),
  }),
];
