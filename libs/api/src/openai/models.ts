import { z } from 'zod';

/**
 * One entry of `GET /v1/models` as vLLM serves it: `root` is the base model, `parent` is set on
 * LoRA adapters (the base model's id), and `max_model_len` is the context length.
 */
export const modelCardSchema = z.looseObject({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
  root: z.string().nullish(),
  parent: z.string().nullish(),
  max_model_len: z.number().int().nullish(),
});

/** Parsed model card. */
export type ModelCard = z.infer<typeof modelCardSchema>;

/** Response of `GET /v1/models`. */
export const modelListSchema = z.looseObject({
  object: z.literal('list'),
  data: z.array(modelCardSchema),
});

/** Parsed `/v1/models` response. */
export type ModelList = z.infer<typeof modelListSchema>;
