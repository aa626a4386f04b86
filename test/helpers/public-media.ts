/**
 * Herald's public media route (`server/routes/public-media.ts`, what Meta downloads media
 * from) on loopback, for test-spawned worker processes, which serve no HTTP API of their own:
 * it reads the media store they read (`DATA_DIR/media`) and checks signatures with the key
 * they derive from the same encryption key (id `t1`, as the tests' `ENCRYPTION_KEYS` name it).
 * Point the workers' `PUBLIC_URL` at `url`; `mediaUrls` signs URLs as they do.
 */
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { LocalMediaStore, SecretCipher } from '../../core/index.js';
import { signedMediaUrls, type MediaUrls } from '../../connectors/meta/media-urls.js';
import { PUBLIC_MEDIA_KEY_PURPOSE, publicMediaRoutes } from '../../server/routes/public-media.js';

export interface PublicMediaHost {
  url: string;
  mediaUrls: MediaUrls;
  close(): Promise<void>;
}

export async function startPublicMedia(mediaDir: string, key: Buffer, keyId = 't1'): Promise<PublicMediaHost> {
  const cipher = new SecretCipher(new Map([[keyId, key]]), keyId);
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(publicMediaRoutes, { prefix: '/v1', store: new LocalMediaStore(mediaDir), cipher });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    mediaUrls: signedMediaUrls({ publicUrl: url, secret: cipher.deriveKey(PUBLIC_MEDIA_KEY_PURPOSE) }),
    close: () => app.close(),
  };
}
