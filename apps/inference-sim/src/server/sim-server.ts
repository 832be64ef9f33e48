import { randomUUID } from 'node:crypto';
import {
  chatCompletionRequestSchema,
  completionPromptParts,
  completionRequestSchema,
  contentText,
  OpenAIHttpError,
  parseOr400,
  type ChatCompletionRequest,
  type CompletionRequest,
  type KvTransferParams,
} from '@llmd/api';
import type { Tokenizer } from '@llmd/tokenizer';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Engine, type Clock, type RequestOutcome } from '../engine/index.js';
import type { SimOptions } from '../options.js';
import { maybeInjectFailure } from './failures.js';
import { GenerationRun, type FinishReason, type GenerationJob } from './generation.js';
import { LoraError, LoraRegistry } from './lora.js';
import { SimMetrics } from './metrics.js';
import { seededRandom } from '@llmd/cli';
import { SseWriter } from './sse.js';
import { decodedOutput, randomResponseLength, RandomCorpus, type OutputText } from './text.js';
import type { KvEventSink } from '../engine/index.js';
import type { EngineSetup } from './engine-setup.js';

/** Everything one simulated server is built from. */
export interface SimServerDeps {
  options: SimOptions;
  /** Data-parallel rank: the server listens on `options.port + rank`. */
  rank: number;
  tokenizer: Tokenizer;
  engineSetup: EngineSetup;
  logger: Logger;
  clock: Clock;
  /** Where KV events go (a ZMQ publisher, or a sink that drops them). */
  events: KvEventSink;
}

/** Default cap of a random-mode response when the client sets no `max_tokens`. */
const DEFAULT_RANDOM_MAX_TOKENS = 256;

const loadLoraSchema = z.looseObject({ lora_name: z.string().min(1), lora_path: z.string().default('') });
const unloadLoraSchema = z.looseObject({ lora_name: z.string().min(1) });
const tokenizeSchema = z.union([
  z.looseObject({ model: z.string().optional(), prompt: z.string(), add_special_tokens: z.boolean().default(true) }),
  z.looseObject({
    model: z.string().optional(),
    messages: chatCompletionRequestSchema.shape.messages,
    add_generation_prompt: z.boolean().default(true),
    add_special_tokens: z.boolean().default(false),
  }),
]);
const detokenizeSchema = z.looseObject({ model: z.string().optional(), tokens: z.array(z.number().int().nonnegative()) });

/** Which served model a request names: the base model or a LoRA adapter. */
interface ResolvedModel {
  name: string;
  loraName: string | null;
}

/**
 * One simulated vLLM server: an engine, its HTTP surface (OpenAI API, vLLM extras, metrics) and its
 * KV-event sink. Several can live in one process (`--data-parallel-size`).
 */
export class SimServer {
  readonly app: FastifyInstance;
  readonly engine: Engine;
  readonly metrics: SimMetrics;
  readonly loras: LoraRegistry;
  readonly #deps: SimServerDeps;
  readonly #random: () => number;
  readonly #corpus: RandomCorpus | null;
  readonly #maxModelLen: number;
  readonly #created = Math.floor(Date.now() / 1000);
  readonly #engineId = randomUUID();
  #port = 0;

  constructor(deps: SimServerDeps) {
    const { options, rank, tokenizer, engineSetup, logger, clock, events } = deps;
    this.#deps = deps;
    this.#random = seededRandom(options.seed + rank * 7919);
    this.#maxModelLen = engineSetup.options.maxModelLen;
    this.engine = new Engine(engineSetup.options, { clock, hasher: engineSetup.hasher, events, random: seededRandom(options.seed + rank * 104729 + 1) });
    this.loras = new LoraRegistry(options.model, options.loraModules, options.maxCpuLoras);
    this.metrics = new SimMetrics(options.servedModelNames[0] as string, this.engine, {
      maxModelLen: this.#maxModelLen,
      cacheConfig: {
        block_size: String(engineSetup.options.blockSize),
        num_gpu_blocks: String(engineSetup.options.numGpuBlocks),
        gpu_memory_utilization: String(options.gpuMemoryUtilization),
        enable_prefix_caching: 'True',
        cache_dtype: 'auto',
      },
    });
    this.#corpus = options.mode === 'random' ? new RandomCorpus(tokenizer, seededRandom(options.seed + rank)) : null;
    this.app = (Fastify as unknown as (o: object) => FastifyInstance)({
      loggerInstance: logger.child({ rank }),
      disableRequestLogging: true,
      bodyLimit: 64 * 1024 * 1024,
      requestIdHeader: 'x-request-id',
      genReqId: () => randomUUID(),
    });
    this.#routes();
  }

  /** The port this server listens on, once started. */
  get port(): number {
    return this.#port;
  }

  /** Starts listening; with `options.port` 0 the OS picks the port. */
  async listen(): Promise<number> {
    const { options, rank } = this.#deps;
    await this.app.listen({ host: options.host, port: options.port === 0 ? 0 : options.port + rank });
    const addr = this.app.server.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.#port;
  }

  /** Stops the engine and the HTTP server. */
  async close(): Promise<void> {
    this.engine.close();
    await this.app.close();
  }

  #routes(): void {
    const app = this.app;
    app.setErrorHandler((err, req, reply) => this.#sendError(err, req, reply));
    app.setNotFoundHandler((req, reply) => {
      void reply.code(404).send(new OpenAIHttpError(404, `Not found: ${req.method} ${req.url}`).toBody());
    });

    app.get('/health', async (_req, reply) => reply.code(200).send());
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await this.metrics.expose();
      return reply.type(contentType).send(body);
    });
    app.get('/v1/models', async () => this.#models());
    app.post('/v1/completions', (req, reply) => this.#generate('completion', req, reply));
    app.post('/v1/chat/completions', (req, reply) => this.#generate('chat', req, reply));
    app.post('/tokenize', async (req) => this.#tokenize(req.body));
    app.post('/detokenize', async (req) => {
      const body = parseOr400(detokenizeSchema, req.body);
      if (body.model !== undefined) this.#resolveModel(body.model);
      return { prompt: this.#deps.tokenizer.decode(body.tokens) };
    });
    app.post('/v1/load_lora_adapter', async (req, reply) => {
      const body = parseOr400(loadLoraSchema, req.body);
      this.loras.load(body.lora_name, body.lora_path);
      return reply.type('text/plain').send(`Success: LoRA adapter '${body.lora_name}' added successfully.`);
    });
    app.post('/v1/unload_lora_adapter', async (req, reply) => {
      const body = parseOr400(unloadLoraSchema, req.body);
      this.loras.unload(body.lora_name);
      return reply.type('text/plain').send(`Success: LoRA adapter '${body.lora_name}' removed successfully.`);
    });
    app.post('/reset_prefix_cache', async (_req, reply) => {
      this.engine.resetPrefixCache();
      return reply.code(200).send();
    });
  }

  #sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
    let error: OpenAIHttpError;
    if (err instanceof OpenAIHttpError) error = err;
    else if (err instanceof LoraError) error = new OpenAIHttpError(err.status, err.message, { param: 'lora_name' });
    else {
      const e = err as { statusCode?: number; code?: string; message?: string };
      if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
        // Fastify's own rejections: malformed JSON, wrong content type, body too large.
        const message = e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || /JSON/.test(e.message ?? '')
          ? `Invalid JSON body: ${e.message ?? ''}`.trim()
          : (e.message ?? 'Bad request');
        error = new OpenAIHttpError(e.statusCode, message);
      } else {
        req.log.error({ err }, 'request failed');
        error = new OpenAIHttpError(500, 'Internal server error', { cause: err });
      }
    }
    if (reply.sent || reply.raw.headersSent) return;
    void reply.code(error.status).headers(this.#identityHeaders(req)).send(error.toBody());
  }

  #identityHeaders(req: FastifyRequest): Record<string, string> {
    const { options, rank } = this.#deps;
    const h: Record<string, string> = { 'x-request-id': String(req.id) };
    if (options.podName) {
      h['x-inference-pod'] = options.podName;
      h['x-inference-port'] = String(this.#port || options.port + rank);
    }
    if (options.podNamespace) h['x-inference-namespace'] = options.podNamespace;
    return h;
  }

  #models() {
    const { options } = this.#deps;
    const base = options.servedModelNames.map((id) => ({
      id,
      object: 'model' as const,
      created: this.#created,
      owned_by: 'vllm',
      root: options.model,
      parent: null,
      max_model_len: this.#maxModelLen,
      permission: [],
    }));
    const adapters = this.loras.list().map((l) => ({
      id: l.name,
      object: 'model' as const,
      created: Math.floor(l.loadedAt / 1000),
      owned_by: 'vllm',
      root: l.path,
      parent: options.servedModelNames[0] as string,
      max_model_len: this.#maxModelLen,
      permission: [],
    }));
    return { object: 'list' as const, data: [...base, ...adapters] };
  }

  #resolveModel(model: string): ResolvedModel {
    if (this.#deps.options.servedModelNames.includes(model)) return { name: model, loraName: null };
    if (this.loras.get(model)) return { name: model, loraName: model };
    throw new OpenAIHttpError(404, `The model \`${model}\` does not exist.`, { param: 'model', type: 'NotFoundError' });
  }

  #tokenize(raw: unknown) {
    const body = parseOr400(tokenizeSchema, raw);
    if (body.model !== undefined) this.#resolveModel(body.model);
    const tok = this.#deps.tokenizer;
    const tokens =
      typeof body.prompt === 'string'
        ? tok.encode(body.prompt, { addSpecialTokens: body.add_special_tokens !== false })
        : tok.encodeChat(body.messages as never, { addGenerationPrompt: body.add_generation_prompt !== false });
    return { count: tokens.length, max_model_len: this.#maxModelLen, tokens, token_strs: null };
  }

  async #generate(kind: 'completion' | 'chat', req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { options, tokenizer } = this.#deps;
    const body =
      kind === 'completion'
        ? parseOr400(completionRequestSchema, req.body)
        : parseOr400(chatCompletionRequestSchema, req.body);
    const model = this.#resolveModel(body.model);
    const failure = maybeInjectFailure(options.failureInjectionRate, options.failureTypes, body.model, this.#random);
    if (failure) throw failure;

    const kv = (body.kv_transfer_params ?? null) as KvTransferParams | null;
    const pd = kv?.do_remote_decode ? 'prefill' : kv?.do_remote_prefill ? 'decode' : null;
    const stream = body.stream === true;
    if (pd === 'prefill' && stream) throw new OpenAIHttpError(400, 'Prefill does not support streaming', { param: 'stream' });

    // Prompts as token ids, with the text echo mode repeats.
    const prompts: Array<{ ids: number[]; echo: string; echoIds?: number[] }> = [];
    if (kind === 'completion') {
      for (const part of completionPromptParts(body as CompletionRequest)) {
        if ('text' in part) prompts.push({ ids: tokenizer.encode(part.text, { addSpecialTokens: true }), echo: part.text });
        else prompts.push({ ids: part.tokenIds, echo: part.tokenIds.join(','), echoIds: part.tokenIds });
      }
    } else {
      const chat = body as ChatCompletionRequest;
      const ids = tokenizer.encodeChat(chat.messages as never, {
        addGenerationPrompt: chat.add_generation_prompt ?? true,
        ...(chat.tools ? { tools: chat.tools } : {}),
        ...(chat.chat_template_kwargs ? { chatTemplateKwargs: chat.chat_template_kwargs } : {}),
      });
      const lastUser = [...chat.messages].reverse().find((m) => m.role === 'user');
      prompts.push({ ids, echo: contentText(lastUser?.content) });
    }

    const n = body.n ?? 1;
    const maxTokens = kind === 'chat' ? ((body as ChatCompletionRequest).max_completion_tokens ?? body.max_tokens ?? null) : (body.max_tokens ?? null);
    if (maxTokens !== null && maxTokens < 1) throw new OpenAIHttpError(400, 'max_tokens must be at least 1, got 0.', { param: 'max_tokens' });
    const jobs: GenerationJob[] = [];
    for (const prompt of prompts) {
      if (prompt.ids.length === 0) throw new OpenAIHttpError(400, 'The prompt is empty.', { param: kind === 'chat' ? 'messages' : 'prompt' });
      const room = this.#maxModelLen - prompt.ids.length;
      if (room < 1 || (maxTokens !== null && maxTokens > room)) {
        const requested = prompt.ids.length + (maxTokens ?? 1);
        throw new OpenAIHttpError(
          400,
          `This model's maximum context length is ${this.#maxModelLen} tokens. However, you requested ${requested} tokens ` +
            `(${prompt.ids.length} in the messages, ${maxTokens ?? 1} in the completion). Please reduce the length of the messages or completion.`,
          { param: kind === 'chat' ? 'messages' : 'prompt' },
        );
      }
      for (let c = 0; c < n; c++) jobs.push({ index: jobs.length, promptIds: prompt.ids, ...this.#output(prompt, room, maxTokens, body, pd) });
    }

    const headers = this.#identityHeaders(req);
    const requestId = String(req.id);
    const responseId = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${requestId}`;
    const created = Math.floor(Date.now() / 1000);
    const includeUsage = stream && body.stream_options?.include_usage === true;
    const continuousUsage = stream && body.stream_options?.continuous_usage_stats === true;
    const lastAt = new Map<number, number>();
    let sse: SseWriter | null = null;

    const usageOf = (outcomes: readonly (RequestOutcome | undefined)[]) => {
      let prompt = 0, completion = 0, cached = 0;
      for (const o of outcomes) {
        if (!o) continue;
        prompt += o.promptTokens;
        completion += o.outputTokens;
        cached += o.cachedTokens;
      }
      return { prompt_tokens: prompt, total_tokens: prompt + completion, completion_tokens: completion, prompt_tokens_details: { cached_tokens: cached } };
    };
    const produced = new Map<number, number>();

    const run = new GenerationRun(
      this.engine,
      { requestId, loraName: model.loraName, cacheSalt: body.cache_salt ?? null, priority: body.priority ?? 0, pd },
      jobs,
      {
        onTokens: (job, from, to, atMs) => {
          const prev = lastAt.get(job.index);
          if (prev !== undefined) this.metrics.observeTokens(to - from, atMs - prev);
          lastAt.set(job.index, atMs);
          produced.set(job.index, to);
          if (!sse) return;
          const last = to >= job.output.ids.length;
          const text = job.output.slice(from, to);
          const finish = last ? job.finishReason : null;
          const usage = continuousUsage ? { usage: { prompt_tokens: job.promptIds.length, completion_tokens: to, total_tokens: job.promptIds.length + to } } : {};
          if (kind === 'completion') {
            sse.send({ id: responseId, object: 'text_completion', created, model: body.model, choices: [{ index: job.index, text, logprobs: null, finish_reason: finish, stop_reason: null }], ...usage });
          } else {
            if (from === 0) {
              sse.send({ id: responseId, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: job.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
            }
            sse.send({ id: responseId, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: job.index, delta: { content: text }, logprobs: null, finish_reason: finish }], ...usage });
          }
        },
        onFinished: (job, outcome) => {
          const reason: FinishReason = outcome.reason === 'aborted' ? 'abort' : job.finishReason;
          this.metrics.observeFinished(outcome, reason, maxTokens);
        },
      },
    );

    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded) run.abort();
    });

    if (stream) {
      reply.hijack();
      sse = new SseWriter(reply.raw, headers);
      const outcomes = await run.done;
      if (includeUsage) sse.send({ id: responseId, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model: body.model, choices: [], usage: usageOf(outcomes) });
      sse.done();
      return;
    }

    const outcomes = await run.done;
    if (reply.raw.destroyed) return;
    const kvOut = pd === 'prefill' ? this.#prefillKvTransferParams(jobs[0]?.promptIds.length ?? 0) : null;
    const finishOf = (job: GenerationJob) => (outcomes[job.index]?.reason === 'aborted' ? 'abort' : job.finishReason);
    const textOf = (job: GenerationJob) => job.output.slice(0, produced.get(job.index) ?? 0);
    const usage = usageOf(outcomes);
    void reply.headers(headers);
    if (kind === 'completion') {
      const echo = (body as CompletionRequest).echo === true;
      return void reply.send({
        id: responseId,
        object: 'text_completion',
        created,
        model: body.model,
        choices: jobs.map((job) => ({
          index: job.index,
          text: (echo ? prompts[Math.floor(job.index / n)]?.echo ?? '' : '') + textOf(job),
          logprobs: null,
          finish_reason: finishOf(job),
          stop_reason: null,
          prompt_logprobs: null,
        })),
        usage,
        kv_transfer_params: kvOut,
      });
    }
    return void reply.send({
      id: responseId,
      object: 'chat.completion',
      created,
      model: body.model,
      choices: jobs.map((job) => ({
        index: job.index,
        message: { role: 'assistant', content: textOf(job), tool_calls: [] },
        logprobs: null,
        finish_reason: finishOf(job),
        stop_reason: null,
      })),
      usage,
      prompt_logprobs: null,
      kv_transfer_params: kvOut,
    });
  }

  /** The output a job will produce, and its finish reason when complete. */
  #output(
    prompt: { ids: number[]; echo: string; echoIds?: number[] },
    room: number,
    maxTokens: number | null,
    body: CompletionRequest | ChatCompletionRequest,
    pd: 'prefill' | 'decode' | null,
  ): { output: OutputText; finishReason: FinishReason } {
    const { tokenizer } = this.#deps;
    if (pd === 'prefill') {
      // The prefill leg computes the prompt and one token; the decode pod generates the rest.
      const output = this.#corpus ? this.#corpus.take(1, this.#random) : decodedOutput(tokenizer, tokenizer.encode(prompt.echo, { addSpecialTokens: false }).slice(0, 1));
      return { output: output.ids.length > 0 ? output : decodedOutput(tokenizer, [prompt.ids[prompt.ids.length - 1] as number]), finishReason: 'remote_decode' };
    }
    const cap = maxTokens ?? room;
    const minTokens = Math.min(cap, Math.max(1, body.min_tokens ?? 1));
    if (this.#corpus) {
      const ignoreEos = body.ignore_eos === true;
      const want = ignoreEos && maxTokens !== null ? maxTokens : randomResponseLength(Math.min(cap, maxTokens ?? DEFAULT_RANDOM_MAX_TOKENS), this.#random);
      const count = Math.max(minTokens, want);
      return { output: this.#corpus.take(count, this.#random), finishReason: maxTokens !== null && count >= maxTokens ? 'length' : 'stop' };
    }
    let ids = prompt.echoIds ?? tokenizer.encode(prompt.echo, { addSpecialTokens: false });
    if (ids.length === 0) ids = tokenizer.encode('.', { addSpecialTokens: false });
    if (ids.length > cap) return { output: decodedOutput(tokenizer, ids.slice(0, cap)), finishReason: 'length' };
    return { output: decodedOutput(tokenizer, ids), finishReason: 'stop' };
  }

  /** What a prefill leg returns so the decode leg can fetch the KV blocks (vLLM NIXL connector fields). */
  #prefillKvTransferParams(promptTokens: number): KvTransferParams {
    const blockSize = this.#deps.engineSetup.options.blockSize;
    const blocks = Math.ceil(promptTokens / blockSize);
    return {
      do_remote_decode: false,
      do_remote_prefill: true,
      remote_block_ids: Array.from({ length: blocks }, (_, i) => i),
      remote_engine_id: this.#engineId,
      remote_host: this.#deps.options.podIp ?? (this.#deps.options.host === '0.0.0.0' ? '127.0.0.1' : this.#deps.options.host),
      remote_port: this.#port,
      tp_size: 1,
    };
  }
}
