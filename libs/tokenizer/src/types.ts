/** A text part of an OpenAI-style multi-part message content. */
export interface TextContentPart {
  type: 'text';
  text: string;
}

/** One chat message as OpenAI-compatible servers receive it. */
export interface ChatMessage {
  role: string;
  /** Plain text, a list of parts (text parts are joined with "\n"; other parts are not text and are left out), or null. */
  content: string | Array<TextContentPart | Record<string, unknown>> | null;
  name?: string;
  tool_calls?: unknown;
  tool_call_id?: string;
}

/** Options of `Tokenizer.encode`. */
export interface EncodeOptions {
  /** Add the model's special tokens (e.g. Llama 3's `<|begin_of_text|>`); default true, as in Hugging Face. */
  addSpecialTokens?: boolean;
}

/** Options of `Tokenizer.decode`. */
export interface DecodeOptions {
  /** Leave special tokens out of the text; default false, as in Hugging Face. */
  skipSpecialTokens?: boolean;
}

/** Options of `Tokenizer.applyChatTemplate` and `Tokenizer.encodeChat`. */
export interface ChatTemplateOptions {
  /** End the prompt with the header of an assistant turn; default false, as in Hugging Face. */
  addGenerationPrompt?: boolean;
  /** Tool definitions (OpenAI `tools`), passed to the template as `tools`. */
  tools?: unknown[];
  /** Extra template variables, e.g. `{ enable_thinking: false }` for Qwen3 (vLLM's `chat_template_kwargs`). */
  chatTemplateKwargs?: Record<string, unknown>;
}

/** A Hugging Face tokenizer with its chat template. */
export interface Tokenizer {
  /** Which tokenizer this is: `qwen3`, `llama3`, `fallback:qwen3` or `path:<folder>`. */
  readonly name: string;
  /** Number of token ids, added tokens included (Hugging Face's `len(tokenizer)`). */
  readonly vocabSize: number;
  /** Text to token ids. */
  encode(text: string, opts?: EncodeOptions): number[];
  /** Token ids to text. */
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** Renders chat messages to the prompt text the model sees. */
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): string;
  /** Renders chat messages and encodes the prompt without adding special tokens again, as vLLM does. */
  encodeChat(messages: ChatMessage[], opts?: ChatTemplateOptions): number[];
}

/** The same operations as `Tokenizer`, run off the caller's thread. */
export interface AsyncTokenizer {
  /** Which tokenizer this is (see `Tokenizer.name`). */
  readonly name: string;
  /** Number of token ids, added tokens included. */
  readonly vocabSize: number;
  /** Text to token ids. */
  encode(text: string, opts?: EncodeOptions): Promise<number[]>;
  /** Token ids to text. */
  decode(ids: readonly number[], opts?: DecodeOptions): Promise<string>;
  /** Renders chat messages to the prompt text the model sees. */
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): Promise<string>;
  /** Renders chat messages and encodes the prompt without adding special tokens again. */
  encodeChat(messages: ChatMessage[], opts?: ChatTemplateOptions): Promise<number[]>;
}

/** Where a tokenizer comes from: a Hugging Face model name (bundled tokenizers) or a local folder. */
export type TokenizerSource = { model: string } | { path: string };
