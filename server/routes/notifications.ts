/**
 * The caller's notifications over REST (messages Herald sent them outside a chat turn; the
 * WebSocket shows each live as a `notification` frame): list, and mark one read.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../core/index.js';
import {
  listNotificationPrefs,
  listNotifications,
  markRead,
  NOTIFICATION_CHANNELS,
  setNotificationPref,
} from '../../tools/notifications/index.js';
import { serviceContextOf } from '../http/context.js';

export const notificationRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/notifications',
    {
      schema: {
        tags: ['notifications'],
        summary: "The caller's notifications, newest first",
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          before: z.iso.datetime({ offset: true }).optional(),
          unread: z
            .enum(['true', 'false'])
            .optional()
            .transform((v) => v === 'true'),
        }),
      },
    },
    async (req) =>
      listNotifications({ db }, serviceContextOf(req), {
        limit: req.query.limit,
        before: req.query.before ? new Date(req.query.before) : undefined,
        unread: req.query.unread,
      }),
  );

  app.get(
    '/notifications/preferences',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Where the caller gets each kind of notification (websocket, slack, telegram)',
      },
    },
    async (req) => listNotificationPrefs({ db }, serviceContextOf(req)),
  );

  app.put(
    '/notifications/preferences/:kind',
    {
      schema: {
        tags: ['notifications'],
        summary:
          'Routes one kind of the caller’s notifications: `channels` (empty: the list only), or null for the default',
        params: z.object({ kind: z.string().min(3).max(64) }),
        body: z.strictObject({
          channels: z.array(z.enum(NOTIFICATION_CHANNELS)).max(NOTIFICATION_CHANNELS.length).nullable(),
        }),
      },
    },
    async (req) =>
      setNotificationPref({ db }, serviceContextOf(req), { kind: req.params.kind, channels: req.body.channels }),
  );

  app.post(
    '/notifications/:id/read',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Marks one of the caller’s notifications read',
        params: z.object({ id: z.guid() }),
      },
    },
    async (req) => markRead({ db }, serviceContextOf(req), req.params.id),
  );
};
