/**
 * The `MODELS_FILE` format (docs/models.md): model registry entries to add, override or
 * disable. It is read and validated with the rest of the configuration, so a missing or bad
 * file stops start-up at once, in the same message as any other bad variable (exit 78),
 * before a database, Redis or Chroma has been started.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The model providers Herald speaks to. */
export const MODEL_PROVIDERS = ['ollama', 'groq', 'anthropic', 'openai'] as const;

export const ModelFileEntrySchema = z.strictObject({
  provider: z.enum(MODEL_PROVIDERS),
  model: z.string().min(1).max(200),
  local: z.boolean().optional(),
  contextWindow: z.number().int().positive().optional(),
  inputUsdPerMTok: z.number().min(0).optional(),
  outputUsdPerMTok: z.number().min(0).optional(),
  toolCalling: z.boolean().optional(),
  tier: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  tokensPerSecond: z.number().positive().optional(),
  /** Drop this entry (e.g. a default you never want routed to). */
  disabled: z.boolean().optional(),
});
export type ModelFileEntry = z.infer<typeof ModelFileEntrySchema>;

export const ModelFileSchema = z.strictObject({ models: z.array(ModelFileEntrySchema).max(500) });

/** The entries of a models file, or what is wrong with it in words (every schema issue). */
export function readModelsFile(file: string): { entries: ModelFileEntry[] } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? `no file at ${file}` : `${file} cannot be read (${code ?? String(err)})` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { problem: `${file} is not JSON (${(err as Error).message})` };
  }
  const parsed = ModelFileSchema.safeParse(raw);
  if (!parsed.success)
    return {
      problem: `${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`,
    };
  return { entries: parsed.data.models };
}
