import { z } from 'zod';
import { promptInputSchema } from './prompt-input.js';
import type { Usage } from './usage.js';

/** Body of `POST /v1/embeddings`. `input` takes the same four shapes as a completion prompt. */
export const embeddingRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: promptInputSchema,
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});

/** A parsed `/v1/embeddings` body. */
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

/** One embedding; `embedding` is a base64 string of little-endian float32 when `encoding_format` is `base64`. */
export interface Embedding {
  index: number;
  object: 'embedding';
  embedding: number[] | string;
}

/** Response of `POST /v1/embeddings`. */
export interface EmbeddingResponse {
  id?: string;
  object: 'list';
  created?: number;
  model: string;
  data: Embedding[];
  usage: Usage;
}
