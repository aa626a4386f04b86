/** The model registry as the API shows it, and pulling local models into Ollama. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EventBus, Logger } from '../../core/index.js';
import { listModels, startPull, type ModelLayer, type ProviderSettings } from '../../agent/models/index.js';
import { contextOf } from '../http/context.js';

export interface ModelRouteDeps {
  layer: ModelLayer;
  providers: ProviderSettings;
  events: EventBus | null;
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
        summary: 'Pull a model into the local Ollama (admin); progress arrives as `model_pull` WebSocket events',
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
      const ctx = contextOf(req, 'admin');
      return reply
        .status(202)
        .send(startPull(models.layer, models.events, ctx.workspaceId, req.body.model, req.log as unknown as Logger));
    },
  );
};
