import { z } from 'zod';
import { describeInput } from './common.js';

/** The four prompt shapes `/v1/completions` (and `input` of `/v1/embeddings`) accept. */
export type PromptInput = string | string[] | number[] | number[][];

const EXPECTED_PROMPT = 'string, array of strings, array of token ids or array of token-id arrays';

function isTokenId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function tokenIdIssue(value: unknown): string {
  return `Invalid input: expected token id (non-negative integer), received ${
    typeof value === 'number' ? String(value) : describeInput(value)
  }`;
}

/** Returns the first problem in a token-id array, as a relative path and a message. */
function checkTokenIds(ids: readonly unknown[]): { path: number[]; message: string } | undefined {
  if (ids.length === 0) return { path: [], message: 'Too small: expected a non-empty array of token ids' };
  for (let i = 0; i < ids.length; i++) {
    if (!isTokenId(ids[i])) return { path: [i], message: tokenIdIssue(ids[i]) };
  }
  return undefined;
}

/**
 * Checks a prompt by hand rather than with `z.union`: a union would report "Invalid input" for
 * `["a", 5]`, whereas here the first element fixes the shape and the message names the bad index
 * (`prompt.1`). Only the first problem is reported so a huge token array cannot flood the error.
 */
function checkPrompt(value: unknown, ctx: z.RefinementCtx): void {
  const fail = (message: string, path: number[] = []) => ctx.addIssue({ code: 'custom', message, path });
  if (typeof value === 'string') {
    if (value.length === 0) fail('Too small: expected a non-empty prompt');
    return;
  }
  if (!Array.isArray(value)) {
    fail(`Invalid input: expected ${EXPECTED_PROMPT}, received ${describeInput(value)}`);
    return;
  }
  if (value.length === 0) {
    fail('Too small: expected a non-empty prompt');
    return;
  }
  const first: unknown = value[0];
  if (typeof first === 'string') {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== 'string') return fail(`Invalid input: expected string, received ${describeInput(item)}`, [i]);
      if (item.length === 0) return fail('Too small: expected a non-empty prompt', [i]);
    }
    return;
  }
  if (typeof first === 'number') {
    const problem = checkTokenIds(value);
    if (problem) fail(problem.message, problem.path);
    return;
  }
  if (Array.isArray(first)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (!Array.isArray(item)) {
        return fail(`Invalid input: expected array of token ids, received ${describeInput(item)}`, [i]);
      }
      const problem = checkTokenIds(item);
      if (problem) return fail(problem.message, [i, ...problem.path]);
    }
    return;
  }
  fail(`Invalid input: expected string, token id or array of token ids, received ${describeInput(first)}`, [0]);
}

/** A required, non-empty prompt in one of the four {@link PromptInput} shapes. */
export const promptInputSchema = z.custom<PromptInput>().superRefine(checkPrompt);
