/**
 * Media at public, signed, expiring URLs, for the platforms that download media themselves
 * (Meta: Instagram, Facebook, Threads). `GET /v1/public-media/<sha256>.<ext>?exp=&sig=` serves
 * the stored file named by its content when the HMAC (a key derived from Herald's encryption
 * key) covers the name and `exp` is not past; anything else is 404, saying nothing about
 * whether such a file exists. The URLs are minted by `connectors/meta/media-urls.ts`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertKey, contentKey, isHeraldError, type MediaStore, type SecretCipher } from '../../core/index.js';
import { verifyMediaUrl } from '../../connectors/meta/media-urls.js';

const TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
};

export const PUBLIC_MEDIA_KEY_PURPOSE = 'public-media';

export async function publicMediaRoutes(
  app: FastifyInstance,
  opts: { store: MediaStore; cipher: SecretCipher },
): Promise<void> {
  const secret = opts.cipher.deriveKey(PUBLIC_MEDIA_KEY_PURPOSE);
  app.get<{ Params: { file: string }; Querystring: { exp?: string; sig?: string } }>(
    '/public-media/:file',
    {
      schema: {
        hide: true,
        params: z.object({ file: z.string().max(80) }),
        querystring: z.object({ exp: z.string().max(16).optional(), sig: z.string().max(64).optional() }),
      },
    },
    async (req, reply) => {
      const gone = () => reply.code(404).send({ error: { code: 'not_found', message: 'No such media' } });
      const m = /^([0-9a-f]{64})\.([a-z0-9]{1,8})$/.exec(req.params.file);
      if (!m || !TYPES[m[2]!] || !verifyMediaUrl(secret, req.params.file, req.query.exp, req.query.sig)) return gone();
      const key = contentKey(m[1]!, m[2]!);
      try {
        assertKey(key);
        const stream = await opts.store.open(key);
        return reply.header('content-type', TYPES[m[2]!]!).header('cache-control', 'private, max-age=300').send(stream);
      } catch (err) {
        if (isHeraldError(err)) return gone();
        throw err;
      }
    },
  );
}
