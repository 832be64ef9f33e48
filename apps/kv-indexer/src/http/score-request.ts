import { chatMessageSchema, parseOr400, toolSchema } from '@llmd/api';
import type { ChatMessage } from '@llmd/tokenizer';
import { z } from 'zod';
import type { ScoreQuery } from '../scoring.js';

const INPUTS = ['token_ids', 'prompt', 'messages'] as const;

/** Body of `POST /v1/scores`: a model and exactly one of `token_ids`, `prompt`, `messages`. */
export const scoreRequestSchema = z
  .strictObject({
    model: z.string().min(1),
    token_ids: z.array(z.number().int().min(0).max(0xffffffff)).optional(),
    prompt: z.string().optional(),
    messages: z.array(chatMessageSchema).min(1).optional(),
    pods: z.array(z.string().min(1)).optional(),
    lora_name: z.string().min(1).nullish(),
    tools: z.array(toolSchema).nullish(),
    chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
  })
  .superRefine((body, ctx) => {
    const given = INPUTS.filter((key) => body[key] !== undefined);
    if (given.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'give exactly one of token_ids, prompt or messages (none given)' });
    } else if (given.length > 1) {
      ctx.addIssue({ code: 'custom', path: [given[1] as string], message: `give exactly one of token_ids, prompt or messages (got ${given.join(' and ')})` });
    }
    if (body.messages === undefined) {
      for (const key of ['tools', 'chat_template_kwargs'] as const) {
        if (body[key] != null) ctx.addIssue({ code: 'custom', path: [key], message: 'only used with messages' });
      }
    }
  });

/** A parsed `POST /v1/scores` body. */
export type ScoreRequest = z.output<typeof scoreRequestSchema>;

/** Validates a body (a 400 naming the field otherwise) and turns it into a {@link ScoreQuery}. */
export function parseScoreRequest(body: unknown): ScoreQuery {
  const req = parseOr400(scoreRequestSchema, body);
  const common = { model: req.model, ...(req.pods ? { pods: req.pods } : {}), loraName: req.lora_name ?? null };
  if (req.token_ids !== undefined) return { ...common, input: { kind: 'tokens', tokenIds: req.token_ids } };
  if (req.prompt !== undefined) return { ...common, input: { kind: 'prompt', prompt: req.prompt } };
  return {
    ...common,
    input: {
      kind: 'messages',
      // The API schema allows an absent content; the template expects null then.
      messages: (req.messages ?? []).map((m) => ({ ...m, content: m.content ?? null }) as ChatMessage),
      ...(req.tools ? { tools: req.tools } : {}),
      ...(req.chat_template_kwargs ? { chatTemplateKwargs: req.chat_template_kwargs } : {}),
    },
  };
}
