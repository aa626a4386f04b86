/** The model registry as the API shows it, and pulling local models into Ollama. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EventBus, Logger } from '../../core/index.js';
import {
  listModels,
  startPull,
  type ModelLayer,
  type ProviderSettings,
  type PullAccess,
} from '../../agent/models/index.js';
import { contextOf } from '../http/context.js';

export interface ModelRouteDeps {
  layer: ModelLayer;
  providers: ProviderSettings;
  events: EventBus | null;
  /** Who may pull which models (`INSTANCE_ADMINS`, `MODEL_PULL_ALLOWLIST`); checked by `startPull`. */
  pullAccess: PullAccess;
}

export const modelRoutes: FastifyPluginAsyncZod<{ models: ModelRouteDeps }> = async (app, { models }) => {
  app.get(
    '/models',
    {
      schema: {
        tags: ['models'],
        summary: 'Known models: provider, local or cloud, context, price, whether usable now; Ollama health',
      },
    },
    (req) => {
      contextOf(req, 'viewer');
      return listModels(models.layer, models.providers);
    },
  );

  app.post(
    '/models/pull',
    {
      schema: {
        tags: ['models'],
        summary:
          'Pull a model into the local Ollama (instance admins; workspace admins for MODEL_PULL_ALLOWLIST models); progress arrives as `model_pull` WebSocket events',
        body: z.strictObject({
          model: z
            .string()
            .min(1)
            .max(200)
            .regex(/^[a-zA-Z0-9][a-zA-Z0-9._\-/:]*$/, { error: 'expected an Ollama model name such as qwen2.5:7b' }),
        }),
      },
    },
    async (req, reply) => {
      // Who may pull what is decided by the service (startPull), the same on every channel.
      const ctx = contextOf(req, 'viewer');
      const caller = { workspaceId: ctx.workspaceId, userId: ctx.userId, role: ctx.principal.role };
      return reply
        .status(202)
        .send(
          startPull(
            models.layer,
            models.events,
            caller,
            req.body.model,
            models.pullAccess,
            req.log as unknown as Logger,
          ),
        );
    },
  );
};
