import { z } from 'zod';
import { unionOf } from './common.js';

/** Part types whose payload is plain text: Chat Completions uses `text`, the Responses API the other two. */
export const TEXT_PART_TYPES: ReadonlySet<string> = new Set(['text', 'input_text', 'output_text']);

/**
 * One part of a multi-part message content (`{type: 'text', text}`, `{type: 'image_url', …}`, …).
 * Only text parts are checked: vLLM accepts many media part types, and its "simple" form without
 * `type` (`{text: "…"}`), which the stack forwards but never reads.
 */
export const contentPartSchema = z
  .looseObject({ type: z.string().optional(), text: z.string().optional() })
  .superRefine((part, ctx) => {
    if (part.type !== undefined && TEXT_PART_TYPES.has(part.type) && part.text === undefined) {
      ctx.addIssue({ code: 'custom', message: `Invalid input: a "${part.type}" part needs a string text`, path: ['text'] });
    }
  });

/** Parsed content part. */
export type ContentPart = z.infer<typeof contentPartSchema>;

/** Message content: a string, or an array of parts. */
export const messageContentSchema = unionOf('string or array of content parts', [
  z.string(),
  z.array(contentPartSchema),
]);

/** Parsed message content. */
export type MessageContent = z.infer<typeof messageContentSchema>;

/** The text of a message content: the string itself, or the text parts joined by newlines. */
export function contentText(content: MessageContent | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  const texts: string[] = [];
  for (const part of content) {
    // Parts without a type are vLLM's simple text form.
    if (typeof part.text === 'string' && (part.type === undefined || TEXT_PART_TYPES.has(part.type))) {
      texts.push(part.text);
    }
  }
  return texts.join('\n');
}
