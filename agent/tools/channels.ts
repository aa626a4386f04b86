/**
 * The agent's chat-linking tool: one call into `tools/channels` (`createLinkCode`), the same
 * function the REST route calls. The code is shown to the user, who sends it to the bot.
 */
import { z } from 'zod';
import { CHANNELS, createLinkCode } from '../../tools/channels/index.js';
import { listNotificationPrefs, NOTIFICATION_CHANNELS, setNotificationPref } from '../../tools/notifications/index.js';
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
  defineTool({
    name: 'notification_settings',
    description:
      'Where this user gets each kind of notification (post.failed, post.unconfirmed, post.published, coach.daily, trends.alert, analytics.weekly_report, ...): the console (websocket), Slack, Telegram. Without `kind`, lists them; with `kind` and `channels`, routes that kind ([] keeps it in the list only; null goes back to the default).',
    schema: z.object({
      kind: z.string().min(3).max(64).optional(),
      channels: z.array(z.enum(NOTIFICATION_CHANNELS)).max(NOTIFICATION_CHANNELS.length).nullable().optional(),
    }),
    sideEffect: false,
    run: (env, args) => {
      const ctx = { workspaceId: env.session.workspaceId, userId: env.session.userId, role: env.session.role };
      if (args.kind === undefined || args.channels === undefined)
        return listNotificationPrefs({ db: env.deps.db }, ctx);
      return setNotificationPref({ db: env.deps.db }, ctx, { kind: args.kind, channels: args.channels });
    },
  }),
];
