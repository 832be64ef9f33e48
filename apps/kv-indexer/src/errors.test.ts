import { readFileSync } from 'node:fs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { TokenizerError } from '@llmd/tokenizer';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERROR_CATALOGUE, IndexerError, indexUnavailable, toGrpcError, toHttpError, toIndexerError } from './errors.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('error catalogue', () => {
  it.each(Object.entries(ERROR_CATALOGUE))('documents %s with its HTTP and gRPC status in the README', (code, entry) => {
    const row = README.split('\n').find((line) => line.startsWith(`| \`${code}\``));
    expect(row, `README row for ${code}`).toBeDefined();
    expect(row).toContain(`| ${entry.http} |`);
    expect(row).toContain(`| ${GrpcStatus[entry.grpc]} |`);
  });

  it.each([
    ['a zod error', z.object({ a: z.string() }).safeParse({}).error, 'invalid_request', 'a'],
    ['a template error', new TokenizerError('CHAT_TEMPLATE_ERROR', 'bad'), 'chat_template_error', 'messages'],
    ['a bad token id', new TokenizerError('INVALID_INPUT', 'ids[0]'), 'invalid_request', null],
    ['a closed pool', new TokenizerError('POOL_CLOSED', 'closed'), 'tokenizer_unavailable', null],
    ['a Redis failure', indexUnavailable(new Error('ECONNRESET')), 'index_unavailable', null],
    ['anything else', new RangeError('oops'), 'internal', null],
  ])('maps %s to %s, keeping the cause', (_label, err, code, param) => {
    const mapped = toIndexerError(err);
    expect(mapped.code).toBe(code);
    expect(mapped.param).toBe(param);
    if (!(err instanceof IndexerError)) expect(mapped.cause).toBe(err);
  });

  it('answers HTTP with the catalogue status and code, and gRPC with its status', () => {
    const err = new IndexerError('invalid_request', 'model: required', { param: 'model' });
    expect(toHttpError(err).status).toBe(400);
    expect(toHttpError(err).toBody()).toEqual({ error: { message: 'model: required', type: 'BadRequestError', param: 'model', code: 'invalid_request' } });
    expect(toGrpcError(err)).toEqual({ code: GrpcStatus.INVALID_ARGUMENT, details: 'invalid_request: model: required' });
    expect(toHttpError(new Error('secret')).toBody().error.message).toBe('internal error');
  });
});
