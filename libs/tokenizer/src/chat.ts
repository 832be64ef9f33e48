import { Template } from '@huggingface/jinja';
import { TokenizerError, toTokenizerError } from './errors.js';
import type { ChatMessage, ChatTemplateOptions } from './types.js';

// Variables the renderer itself sets; letting chat_template_kwargs replace them would silently
// render a different conversation than the one passed in.
const RESERVED_TEMPLATE_VARIABLES = new Set(['messages', 'tools', 'add_generation_prompt']);

// Hugging Face exposes these tokenizer_config.json entries to every chat template.
const SPECIAL_TOKEN_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Joins the text parts of a message content the way vLLM does for string-format templates. */
function contentText(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) {
    throw new TokenizerError('INVALID_INPUT', `${where} must be a string, an array of content parts or null`);
  }
  const texts: string[] = [];
  content.forEach((part: unknown, j) => {
    if (typeof part === 'string') {
      texts.push(part);
      return;
    }
    if (!isRecord(part)) {
      throw new TokenizerError('INVALID_INPUT', `${where}[${j}] must be an object or a string`);
    }
    if (part['type'] !== 'text') return; // images, audio, ...: not text, so a text tokenizer has nothing to count
    const text = part['text'];
    if (typeof text !== 'string') {
      throw new TokenizerError('INVALID_INPUT', `${where}[${j}].text must be a string`);
    }
    texts.push(text);
  });
  return texts.join('\n');
}

/** Templates index tool-call arguments as objects; OpenAI clients send them as JSON strings (vLLM parses them too). */
function normalizeToolCalls(toolCalls: unknown[], where: string): unknown[] {
  return toolCalls.map((call, j) => {
    if (!isRecord(call) || !isRecord(call['function'])) return call;
    const fn = call['function'];
    const args = fn['arguments'];
    let parsed: unknown = args;
    if (args === undefined || args === null || args === '') {
      parsed = {};
    } else if (typeof args === 'string') {
      try {
        parsed = JSON.parse(args);
      } catch (err) {
        throw new TokenizerError('INVALID_INPUT', `${where}[${j}].function.arguments is not valid JSON`, {
          cause: err,
        });
      }
    }
    return { ...call, function: { ...fn, arguments: parsed } };
  });
}

/** Validates chat messages and turns them into the shape chat templates expect, without touching the input. */
export function normalizeMessages(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  if (!Array.isArray(messages)) {
    throw new TokenizerError('INVALID_INPUT', 'messages must be an array');
  }
  return messages.map((message: unknown, i) => {
    const where = `messages[${i}]`;
    if (!isRecord(message)) throw new TokenizerError('INVALID_INPUT', `${where} must be an object`);
    if (typeof message['role'] !== 'string') {
      throw new TokenizerError('INVALID_INPUT', `${where}.role must be a string`);
    }
    const out: Record<string, unknown> = { ...message, content: contentText(message['content'], `${where}.content`) };
    const toolCalls = message['tool_calls'];
    if (Array.isArray(toolCalls)) out['tool_calls'] = normalizeToolCalls(toolCalls, `${where}.tool_calls`);
    else if (toolCalls === null || toolCalls === undefined) delete out['tool_calls'];
    return out;
  });
}

/** The text of a special token as tokenizer_config.json stores it (a string or an AddedToken object). */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value['content'] === 'string') return value['content'];
  return undefined;
}

/** Chat template variables taken from tokenizer_config.json (bos_token, eos_token, ...). */
export function specialTokenVariables(config: Record<string, unknown>): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const text = tokenText(config[key]);
    if (text !== undefined) vars[key] = text;
  }
  const additional = config['additional_special_tokens'];
  if (Array.isArray(additional)) {
    vars['additional_special_tokens'] = additional.map(tokenText).filter((t) => t !== undefined);
  }
  return vars;
}

/** A chat template as tokenizer_config.json may hold it: one string, or named templates. */
export type ChatTemplateSource = string | Readonly<Record<string, string>>;

/** Reads the `chat_template` entry of tokenizer_config.json; `file` names it in errors. */
export function parseChatTemplateSource(value: unknown, file: string): ChatTemplateSource | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named: Record<string, string> = {};
    value.forEach((entry: unknown, i) => {
      if (!isRecord(entry) || typeof entry['name'] !== 'string' || typeof entry['template'] !== 'string') {
        throw new TokenizerError(
          'TOKENIZER_INVALID',
          `"${file}": chat_template[${i}] must be an object with string "name" and "template"`,
        );
      }
      named[entry['name']] = entry['template'];
    });
    return named;
  }
  throw new TokenizerError('TOKENIZER_INVALID', `"${file}": chat_template must be a string or a list of named templates`);
}

/** Renders chat messages with a model's Jinja chat template, compiling each template once. */
export class ChatTemplateRenderer {
  readonly #source: ChatTemplateSource | null;
  readonly #specialTokens: Record<string, unknown>;
  readonly #owner: string;
  readonly #compiled = new Map<string, Template>();

  /** `owner` names the tokenizer in error messages. */
  constructor(source: ChatTemplateSource | null, specialTokens: Record<string, unknown>, owner: string) {
    this.#source = source;
    this.#specialTokens = specialTokens;
    this.#owner = owner;
  }

  /** Whether the tokenizer has a chat template at all. */
  get hasTemplate(): boolean {
    return this.#source !== null;
  }

  /** Renders messages to prompt text, as Hugging Face's apply_chat_template(tokenize=False) does. */
  render(messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string {
    const normalized = normalizeMessages(messages);
    const tools = opts.tools ?? null;
    if (tools !== null && !Array.isArray(tools)) {
      throw new TokenizerError('INVALID_INPUT', 'tools must be an array');
    }
    const kwargs = opts.chatTemplateKwargs ?? {};
    if (!isRecord(kwargs)) throw new TokenizerError('INVALID_INPUT', 'chatTemplateKwargs must be an object');
    for (const key of Object.keys(kwargs)) {
      if (RESERVED_TEMPLATE_VARIABLES.has(key)) {
        throw new TokenizerError('INVALID_INPUT', `chatTemplateKwargs.${key} is reserved; pass it as an option instead`);
      }
    }
    const template = this.#template(tools !== null);
    try {
      return template.render({
        ...this.#specialTokens,
        ...kwargs,
        messages: normalized,
        tools,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (err) {
      throw toTokenizerError(err, 'CHAT_TEMPLATE_ERROR', `chat template of ${this.#owner} failed to render`);
    }
  }

  #template(withTools: boolean): Template {
    const text = this.#select(withTools);
    let compiled = this.#compiled.get(text);
    if (compiled === undefined) {
      try {
        compiled = new Template(text);
      } catch (err) {
        throw toTokenizerError(err, 'CHAT_TEMPLATE_ERROR', `chat template of ${this.#owner} does not compile`);
      }
      this.#compiled.set(text, compiled);
    }
    return compiled;
  }

  // Same choice as Hugging Face for named templates: "tool_use" when tools are given, else "default".
  #select(withTools: boolean): string {
    const source = this.#source;
    if (source === null) {
      throw new TokenizerError('CHAT_TEMPLATE_MISSING', `${this.#owner} has no chat template`);
    }
    if (typeof source === 'string') return source;
    const chosen = (withTools ? source['tool_use'] : undefined) ?? source['default'];
    if (chosen === undefined) {
      throw new TokenizerError(
        'CHAT_TEMPLATE_MISSING',
        `${this.#owner} has named chat templates (${Object.keys(source).sort().join(', ')}) but none called "default"`,
      );
    }
    return chosen;
  }
}
