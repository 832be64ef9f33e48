import { OpenAIHttpError } from '@llmd/api';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { toHttpError } from '../errors.js';
import type { IndexerMetrics } from '../metrics.js';
import type { ScoringService } from '../scoring.js';
import { parseScoreRequest } from './score-request.js';

/** Largest accepted body: a long prompt's token ids as JSON (about 240K tokens). */
export const MAX_BODY_BYTES = 16 << 20;

/** What the HTTP server serves. */
export interface HttpServerOptions {
  readonly scoring: ScoringService;
  readonly metrics: IndexerMetrics;
  readonly logger: Logger;
}

/**
 * The HTTP API: `POST /v1/scores` → `{"scores": {"<ip:port>": <score>}, "total_blocks": n}` (best first), `GET /health`,
 * `GET /metrics`. Every error is an OpenAI-style body whose `code` is a catalogue code.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const { scoring, metrics, logger } = options;
  const app = (Fastify as unknown as (o: object) => FastifyInstance)({
    loggerInstance: logger.child({ component: 'http' }),
    disableRequestLogging: true,
    bodyLimit: MAX_BODY_BYTES,
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    // Fastify's own 4xx (malformed JSON, wrong content type, body too large) keep their status.
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 && err.code?.startsWith('FST_')) {
      void reply.code(err.statusCode).send(new OpenAIHttpError(err.statusCode, err.message, { param: 'body', code: 'invalid_request' }).toBody());
      return;
    }
    const answer = toHttpError(err);
    if (answer.status >= 500) request.log.error({ err: (answer.cause as Error | undefined)?.cause ?? err }, 'score request failed');
    void reply.code(answer.status).send(answer.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { message: `no route ${request.method} ${request.url}`, type: 'NotFoundError', param: null, code: 404 } });
  });

  app.post('/v1/scores', async (request) => {
    const { ranked, totalBlocks } = await scoring.score(() => parseScoreRequest(request.body), 'http');
    const scores: Record<string, number> = {};
    for (const { pod, score } of ranked) scores[pod] = score;
    // total_blocks lets a caller turn a score into a matched share of the prompt.
    return { scores, total_blocks: totalBlocks };
  });
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  return app;
}
