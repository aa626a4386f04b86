/**
 * The agent's media tool: one call into `tools/media` (`uploadMediaFromUrl`), the function
 * `POST /v1/media/from-url` and MCP's `upload_media_from_url` call. The record's id is what a
 * post's media takes.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { ALT_TEXT_MAX, uploadMediaFromUrl } from '../../tools/media/index.js';
import { defineTool } from './types.js';

export const mediaTools = [
  defineTool({
    name: 'upload_media_from_url',
    description:
      "Adds the image or video at an http(s) URL to the workspace's media library (Herald fetches it: public addresses only, within the upload size limit). Returns the media record; attach it to a post by its id. Give alt text describing the image for people who cannot see it.",
    schema: z.object({
      url: z.string().min(1).max(2048),
      altText: z.string().max(ALT_TEXT_MAX).optional(),
    }),
    sideEffect: false,
    run: async (env, args) => {
      if (!env.media)
        throw new HeraldError('internal', { message: 'The media library is not available in this session' });
      const { media, created } = await uploadMediaFromUrl(
        env.media,
        {
          workspaceId: env.session.workspaceId,
          userId: env.session.userId,
          role: env.session.role,
          channel: 'agent',
          actorKind: 'agent',
        },
        { url: args.url, altText: args.altText },
      );
      return { media, created };
    },
  }),
];
