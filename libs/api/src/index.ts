// Public entry of @llmd/api: schemas and types of the OpenAI-compatible surface, headers and errors.
export {
  cacheHitThresholdSchema,
  describeInput,
  sharedGenerationFields,
  stopSchema,
  streamOptionsSchema,
  tokenCountSchema,
  tokenIdSchema,
  unionOf,
} from './openai/common.js';
export type { StreamOptions } from './openai/common.js';
export { prefillLegKvTransferParams, kvTransferParamsSchema } from './openai/kv-transfer.js';
export type { KvTransferParams } from './openai/kv-transfer.js';
export { promptInputSchema } from './openai/prompt-input.js';
export type { PromptInput } from './openai/prompt-input.js';
export { FINISH_REASONS, usageSchema } from './openai/usage.js';
export type { FinishReason, Usage } from './openai/usage.js';
export { contentPartSchema, contentText, messageContentSchema, TEXT_PART_TYPES } from './openai/content.js';
export type { ContentPart, MessageContent } from './openai/content.js';
export { completionRequestSchema } from './openai/completions.js';
export type {
  CompletionChoice,
  CompletionChunk,
  CompletionLogprobs,
  CompletionRequest,
  CompletionResponse,
} from './openai/completions.js';
export {
  chatCompletionRequestSchema,
  chatMessageSchema,
  responseFormatSchema,
  toolCallSchema,
  toolChoiceSchema,
  toolSchema,
} from './openai/chat.js';
export type {
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatCompletionDelta,
  ChatCompletionMessage,
  ChatCompletionRequest,
  ChatCompletionResponse,
  ChatLogprobs,
  ChatMessage,
  ChatTokenLogprob,
  ToolCall,
  ToolCallOutput,
} from './openai/chat.js';
export { embeddingRequestSchema } from './openai/embeddings.js';
export type { Embedding, EmbeddingRequest, EmbeddingResponse } from './openai/embeddings.js';
export { responseInputItemSchema, responsesRequestSchema } from './openai/responses.js';
export type { ResponseInputItem, ResponsesRequest } from './openai/responses.js';
export { modelCardSchema, modelListSchema } from './openai/models.js';
export type { ModelCard, ModelList } from './openai/models.js';
export {
  chatMessagesOf,
  chatMessageText,
  completionPromptParts,
  REQUEST_PATHS,
  REQUEST_SCHEMAS,
  requestKindOf,
} from './openai/prompt.js';
export type { PromptPart, RequestKind } from './openai/prompt.js';
export {
  formatIssuePath,
  OPENAI_ERROR_TYPES,
  openAIErrorBodySchema,
  openAIErrorTypeFor,
  OpenAIHttpError,
  parseOr400,
  toOpenAIHttpError,
  zodErrorToOpenAIError,
} from './errors.js';
export type { OpenAIErrorBody, OpenAIHttpErrorOptions } from './errors.js';
export * from './headers.js';
