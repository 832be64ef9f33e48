import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  OpenAIHttpError,
  openAIErrorBodySchema,
  openAIErrorTypeFor,
  parseOr400,
  toOpenAIHttpError,
  zodErrorToOpenAIError,
} from './errors.js';

describe('openAIErrorTypeFor', () => {
  it.each([
    [400, 'BadRequestError'],
    [401, 'AuthenticationError'],
    [403, 'PermissionDeniedError'],
    [404, 'NotFoundError'],
    [422, 'UnprocessableEntityError'],
    [429, 'RateLimitError'],
    [500, 'InternalServerError'],
    [503, 'InternalServerError'],
    [504, 'InternalServerError'],
    [409, 'APIConnectionError'],
  ])('maps %i to %s', (status, type) => {
    expect(openAIErrorTypeFor(status)).toBe(type);
  });
});

describe('OpenAIHttpError', () => {
  it('writes the OpenAI error body with the status as code', () => {
    const error = new OpenAIHttpError(429, 'waiting requests queue is full');
    expect(error.status).toBe(429);
    expect(error.toBody()).toEqual({
      error: { message: 'waiting requests queue is full', type: 'RateLimitError', param: null, code: 429 },
    });
    expect(openAIErrorBodySchema.safeParse(error.toBody()).success).toBe(true);
  });

  it('takes param, code and type overrides and keeps the cause', () => {
    const cause = new Error('root');
    const error = new OpenAIHttpError(400, 'too long', { param: 'messages', code: 'context_length_exceeded', type: 'invalid_request_error', cause });
    expect(error.toBody()).toEqual({
      error: { message: 'too long', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
    });
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('OpenAIHttpError');
  });

  it.each([200, 302, 399, 600, 404.5])('refuses status %s', (status) => {
    expect(() => new OpenAIHttpError(status, 'x')).toThrowError(RangeError);
  });
});

describe('zodErrorToOpenAIError', () => {
  const schema = z.object({ a: z.object({ b: z.string() }), c: z.number(), d: z.union([z.string(), z.array(z.string())]).optional() });

  function convert(value: unknown): OpenAIHttpError {
    const result = schema.safeParse(value);
    if (result.success) throw new Error('expected failure');
    return zodErrorToOpenAIError(result.error);
  }

  it('names every offending field, with the first as param', () => {
    const error = convert({ a: { b: 1 }, c: 'x' });
    expect(error.status).toBe(400);
    expect(error.type).toBe('BadRequestError');
    expect(error.param).toBe('a.b');
    expect(error.message).toBe(
      'a.b: Invalid input: expected string, received number; c: Invalid input: expected number, received string',
    );
    expect(error.cause).toBeInstanceOf(z.ZodError);
  });

  it('labels a problem with the whole body', () => {
    const error = convert([]);
    expect(error.param).toBeNull();
    expect(error.message).toBe('body: Invalid input: expected object, received array');
  });

  it('follows a union into the branch that matched the type', () => {
    const error = convert({ a: { b: 'x' }, c: 1, d: ['ok', 2] });
    expect(error.param).toBe('d.1');
    expect(error.message).toBe('d.1: Invalid input: expected string, received number');
  });

  it("keeps the union's own message when no branch matched the type", () => {
    const error = convert({ a: { b: 'x' }, c: 1, d: 5 });
    expect(error.param).toBe('d');
    expect(error.message).toBe('d: Invalid input');
  });
});

describe('parseOr400', () => {
  const schema = z.object({ model: z.string() });

  it('returns the parsed value', () => {
    expect(parseOr400(schema, { model: 'm' })).toEqual({ model: 'm' });
  });

  it('throws a 400 naming the field', () => {
    expect(() => parseOr400(schema, { model: 1 })).toThrowError(
      expect.objectContaining({ status: 400, param: 'model', message: 'model: Invalid input: expected string, received number' }),
    );
  });
});

describe('toOpenAIHttpError', () => {
  it('passes an OpenAIHttpError through', () => {
    const error = new OpenAIHttpError(404, 'no such model');
    expect(toOpenAIHttpError(error)).toBe(error);
  });

  it('turns a ZodError into a 400', () => {
    const result = z.string().safeParse(1);
    expect(toOpenAIHttpError(result.error).status).toBe(400);
  });

  it('hides anything else behind a 500 that keeps the cause', () => {
    const cause = new TypeError('secret internals');
    const error = toOpenAIHttpError(cause);
    expect(error.status).toBe(500);
    expect(error.message).not.toContain('secret');
    expect(error.cause).toBe(cause);
  });
});
