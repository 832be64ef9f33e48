import { z } from 'zod';
import { describeInput, tokenCountSchema } from './common.js';
import { messageContentSchema } from './content.js';

/**
 * One item of a Responses API `input` array. Message items (`type` absent or `"message"`) must
 * carry a role and content; other item types (function calls and their outputs, reasoning, …)
 * are forwarded unchecked.
 */
export const responseInputItemSchema = z
  .looseObject({
    type: z.string().optional(),
    role: z.string().optional(),
    content: messageContentSchema.optional(),
  })
  .superRefine((item, ctx) => {
    if (item.type !== undefined && item.type !== 'message') return;
    if (item.role === undefined) {
      ctx.addIssue({ code: 'custom', message: 'Invalid input: a message item needs a string role', path: ['role'] });
    }
    if (item.content === undefined) {
      ctx.addIssue({ code: 'custom', message: 'Invalid input: a message item needs content', path: ['content'] });
    }
  });

/** Parsed Responses API input item. */
export type ResponseInputItem = z.infer<typeof responseInputItemSchema>;

/** Body of `POST /v1/responses` (the fields the stack reads; the rest is kept and forwarded). */
export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(responseInputItemSchema)], {
    error: (issue) =>
      `Invalid input: expected string or array of input items, received ${describeInput(issue.input)}`,
  }),
  instructions: z.string().nullish(),
  max_output_tokens: tokenCountSchema.nullish(),
  stream: z.boolean().nullish(),
});

/** A parsed `/v1/responses` body. */
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
