/**
 * `POST /v1/channels/telegram/webhook`: where Telegram delivers updates once `setWebhook` was
 * called with `secret_token` (core.telegram.org/bots/api#setwebhook). Every request must carry
 * that secret in `X-Telegram-Bot-Api-Secret-Token`, compared in constant time; anything else
 * is refused 401 and nothing runs. The update is acknowledged at once and handled beside the
 * answer (Telegram redelivers on a non-2xx or a slow answer; duplicates are ignored).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { HeraldError } from '../../../core/index.js';
import type { TelegramChannel } from './channel.js';

export const TELEGRAM_WEBHOOK_PATH = '/channels/telegram/webhook';
export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time equality of the header and the secret (digests, so lengths leak nothing either). */
export function secretMatches(given: unknown, secret: string): boolean {
  return typeof given === 'string' && timingSafeEqual(digest(given), digest(secret));
}

export const telegramWebhookRoutes: FastifyPluginAsync<{ channel: TelegramChannel; secret: string }> = async (
  app,
  { channel, secret },
) => {
  app.post(TELEGRAM_WEBHOOK_PATH, { schema: { hide: true } }, async (req, reply) => {
    if (!secretMatches(req.headers[SECRET_HEADER], secret)) {
      throw new HeraldError('unauthorized', { message: 'The Telegram secret token is missing or wrong' });
    }
    const update = req.body as { update_id?: unknown } | null;
    if (!update || typeof update !== 'object' || !Number.isSafeInteger(update.update_id)) {
      throw new HeraldError('validation_failed', { message: 'Not a Telegram update' });
    }
    channel
      .handleUpdate(update as { update_id: number })
      .catch((err: unknown) => req.log.error({ err }, 'telegram update failed'));
    return reply.status(200).send({ ok: true });
  });
};
