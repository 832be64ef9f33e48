import { randomUUID } from 'node:crypto';
import { OpenAIHttpError } from '@llmd/api';
import type { Engine, EngineRequest, RequestOutcome } from '../engine/index.js';
import type { OutputText } from './text.js';

/** Why generation stopped, in OpenAI / vLLM words. */
export type FinishReason = 'stop' | 'length' | 'remote_decode' | 'abort';

/** One sequence to generate: a prompt, the output it will produce, and how it ends. */
export interface GenerationJob {
  /** Choice index in the response. */
  index: number;
  promptIds: readonly number[];
  output: OutputText;
  /** Reported when all output tokens were produced. */
  finishReason: FinishReason;
}

/** Receives a job's progress; the HTTP layer streams or collects it. */
export interface JobListener {
  /** Tokens `[from, to)` of the job's output became available. */
  onTokens(job: GenerationJob, from: number, to: number, atMs: number): void;
  /** The job ended (all tokens, or aborted). */
  onFinished(job: GenerationJob, outcome: RequestOutcome): void;
}

/** What the engine needs to know about the whole request, shared by its jobs. */
export interface JobContext {
  requestId: string;
  loraName: string | null;
  cacheSalt: string | null;
  priority: number;
  pd: EngineRequest['pd'];
}

/**
 * Submits a request's jobs to the engine and routes engine callbacks back to the listener. If the
 * engine refuses any job (queue full, too long) the jobs already accepted are aborted, so a
 * rejected request leaves nothing behind, and the refusal is thrown as the OpenAI error to send.
 */
export class GenerationRun {
  readonly #engine: Engine;
  readonly #ids: string[] = [];
  #remaining: number;
  readonly done: Promise<RequestOutcome[]>;
  #resolve!: (o: RequestOutcome[]) => void;
  readonly #outcomes: RequestOutcome[] = [];

  constructor(engine: Engine, ctx: JobContext, jobs: readonly GenerationJob[], listener: JobListener) {
    this.#engine = engine;
    this.#remaining = jobs.length;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    for (const job of jobs) {
      const id = jobs.length === 1 ? ctx.requestId : `${ctx.requestId}-${job.index}`;
      const engineId = `${id}#${randomUUID()}`;
      let produced = 0;
      const result = engine.submit(
        {
          id: engineId,
          promptTokenIds: job.promptIds,
          outputTokenIds: job.output.ids,
          loraName: ctx.loraName,
          cacheSalt: ctx.cacheSalt,
          priority: ctx.priority,
          pd: ctx.pd,
        },
        {
          onTokens: (count, atMs) => {
            const from = produced;
            produced += count;
            listener.onTokens(job, from, produced, atMs);
          },
          onFinished: (outcome) => {
            this.#outcomes[job.index] = outcome;
            listener.onFinished(job, outcome);
            if (--this.#remaining === 0) this.#resolve(this.#outcomes);
          },
        },
      );
      if (!result.ok) {
        this.abort();
        if (result.reason === 'queue_full') {
          throw new OpenAIHttpError(429, 'The server cannot accept the request: the waiting requests queue is full.');
        }
        if (result.reason === 'too_long') {
          throw new OpenAIHttpError(400, 'The request needs more KV-cache blocks than the server has.', { param: 'prompt' });
        }
        throw new OpenAIHttpError(503, 'The server is shutting down.');
      }
      this.#ids.push(engineId);
    }
  }

  /** Aborts every job still running (client went away). */
  abort(): void {
    for (const id of this.#ids) this.#engine.abort(id);
  }
}
