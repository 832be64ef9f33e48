import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { tokenizers } from '@lenml/tokenizers';
import { FALLBACK_TOKENIZER, bundledTokenizerFolder, fixBundledFiles, resolveBundledTokenizer } from './bundled.js';
import type { BundledTokenizer } from './bundled.js';
import { ChatTemplateRenderer, parseChatTemplateSource, specialTokenVariables } from './chat.js';
import { TokenizerError, toTokenizerError } from './errors.js';
import type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  Tokenizer,
  TokenizerSource,
} from './types.js';

type Engine = InstanceType<typeof tokenizers.PreTrainedTokenizer>;
type EngineClass = new (tokenizerJSON: object, tokenizerConfig: object) => Engine;

/** Everything built from one tokenizer folder; shared by every Tokenizer name that uses the folder. */
interface LoadedFolder {
  readonly engine: Engine;
  readonly chat: ChatTemplateRenderer;
  readonly vocabSize: number;
}

/** What to load for a source: the folder, the cache key of its files, and the name to report. */
interface LoadPlan {
  readonly name: string;
  readonly folderKey: string;
  readonly folder: string;
  /** How error messages name the tokenizer. */
  readonly owner: string;
  /** Set for the bundled tokenizers, whose published files need fixing up. */
  readonly bundled?: BundledTokenizer;
}

/** Raw file texts of a folder; null where an optional file is absent. */
interface FolderTexts {
  readonly tokenizerJson: string;
  readonly tokenizerConfig: string | null;
  readonly chatTemplate: string | null;
}

const TOKENIZER_JSON = 'tokenizer.json';
const TOKENIZER_CONFIG = 'tokenizer_config.json';
const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

const folders = new Map<string, LoadedFolder>();
const folderLoads = new Map<string, Promise<LoadedFolder>>();
const tokenizerCache = new Map<string, Tokenizer>();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errnoCode(err: unknown): string | undefined {
  return isRecord(err) && typeof err['code'] === 'string' ? err['code'] : undefined;
}

function planLoad(input: TokenizerSource): LoadPlan {
  // Checked as unknown: sources often come from parsed config files, not from typed code.
  const source: unknown = input;
  if (!isRecord(source)) {
    throw new TokenizerError('INVALID_INPUT', 'tokenizer source must be an object with "model" or "path"');
  }
  const model = source['model'];
  const path = source['path'];
  if (model !== undefined && path !== undefined) {
    throw new TokenizerError('INVALID_INPUT', 'tokenizer source must have "model" or "path", not both');
  }
  if (typeof path === 'string') {
    if (path.length === 0) throw new TokenizerError('INVALID_INPUT', 'tokenizer source "path" must not be empty');
    const folder = resolve(path);
    return { name: `path:${folder}`, folderKey: `path:${folder}`, folder, owner: `tokenizer "${folder}"` };
  }
  if (typeof model === 'string') {
    if (model.trim().length === 0) {
      throw new TokenizerError('INVALID_INPUT', 'tokenizer source "model" must not be empty');
    }
    const bundled = resolveBundledTokenizer(model);
    const kind = bundled ?? FALLBACK_TOKENIZER;
    return {
      name: bundled === null ? `fallback:${kind}` : kind,
      folderKey: `bundled:${kind}`,
      folder: bundledTokenizerFolder(kind),
      owner: `bundled tokenizer ${kind}`,
      bundled: kind,
    };
  }
  throw new TokenizerError('INVALID_INPUT', 'tokenizer source must have a string "model" or "path"');
}

function folderMissing(folder: string, err: unknown): TokenizerError {
  if (errnoCode(err) === 'ENOENT') {
    return new TokenizerError('TOKENIZER_NOT_FOUND', `tokenizer folder "${folder}" does not exist`, { cause: err });
  }
  return toTokenizerError(err, 'TOKENIZER_INVALID', `cannot read tokenizer folder "${folder}"`);
}

function notAFolder(folder: string): TokenizerError {
  return new TokenizerError('TOKENIZER_NOT_FOUND', `tokenizer path "${folder}" is not a folder`);
}

/** Maps a failed read of `file` to null (absent optional file) or a TokenizerError naming the file. */
function readFailure(file: string, err: unknown, required: boolean): null {
  if (errnoCode(err) === 'ENOENT') {
    if (!required) return null;
    throw new TokenizerError('TOKENIZER_NOT_FOUND', `no ${TOKENIZER_JSON} in tokenizer folder "${dirname(file)}"`, {
      cause: err,
    });
  }
  throw toTokenizerError(err, 'TOKENIZER_INVALID', `cannot read "${file}"`);
}

async function readFolderTexts(folder: string): Promise<FolderTexts> {
  const info = await stat(folder).catch((err: unknown) => {
    throw folderMissing(folder, err);
  });
  if (!info.isDirectory()) throw notAFolder(folder);
  const read = (name: string, required: boolean): Promise<string | null> => {
    const file = join(folder, name);
    return readFile(file, 'utf8').catch((err: unknown) => readFailure(file, err, required));
  };
  const [tokenizerJson, tokenizerConfig, chatTemplate] = await Promise.all([
    read(TOKENIZER_JSON, true),
    read(TOKENIZER_CONFIG, false),
    read(CHAT_TEMPLATE_FILE, false),
  ]);
  return { tokenizerJson: tokenizerJson ?? '', tokenizerConfig, chatTemplate };
}

function readFolderTextsSync(folder: string): FolderTexts {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(folder).isDirectory();
  } catch (err) {
    throw folderMissing(folder, err);
  }
  if (!isDirectory) throw notAFolder(folder);
  const read = (name: string, required: boolean): string | null => {
    const file = join(folder, name);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      return readFailure(file, err, required);
    }
  };
  return {
    tokenizerJson: read(TOKENIZER_JSON, true) ?? '',
    tokenizerConfig: read(TOKENIZER_CONFIG, false),
    chatTemplate: read(CHAT_TEMPLATE_FILE, false),
  };
}

function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw toTokenizerError(err, 'TOKENIZER_INVALID', `"${file}" is not valid JSON`);
  }
  if (!isRecord(value)) throw new TokenizerError('TOKENIZER_INVALID', `"${file}" must hold a JSON object`);
  return value;
}

function engineClass(config: Record<string, unknown>): EngineClass {
  // Choosing the class here (as the engine's own loader would) avoids its console warning for
  // "PreTrainedTokenizerFast", which Llama 3 declares and which simply means the generic class.
  const declared = typeof config['tokenizer_class'] === 'string' ? config['tokenizer_class'] : '';
  const mapping = tokenizers.AutoTokenizer.TOKENIZER_CLASS_MAPPING as unknown as Record<string, EngineClass | undefined>;
  return mapping[declared.replace(/Fast$/, '')] ?? (tokenizers.PreTrainedTokenizer as unknown as EngineClass);
}

function buildFolder(plan: LoadPlan, texts: FolderTexts): LoadedFolder {
  const jsonFile = join(plan.folder, TOKENIZER_JSON);
  const configFile = join(plan.folder, TOKENIZER_CONFIG);
  let tokenizerJson = parseJsonObject(texts.tokenizerJson, jsonFile);
  if (!isRecord(tokenizerJson['model'])) {
    throw new TokenizerError('TOKENIZER_INVALID', `"${jsonFile}" has no "model" object; is it a Hugging Face tokenizer.json?`);
  }
  const addedTokens = tokenizerJson['added_tokens'] ?? [];
  if (!Array.isArray(addedTokens)) {
    throw new TokenizerError('TOKENIZER_INVALID', `"${jsonFile}": "added_tokens" must be an array`);
  }
  // tokenizer_config.json is optional in Hugging Face too: without it there is no chat template
  // and no special-token names, but encoding still works.
  let config = texts.tokenizerConfig === null ? {} : parseJsonObject(texts.tokenizerConfig, configFile);
  if (plan.bundled !== undefined) ({ tokenizerJson, config } = fixBundledFiles(plan.bundled, tokenizerJson, config));
  // A chat_template.jinja beside the config takes precedence, as in current transformers releases.
  const template =
    texts.chatTemplate !== null ? texts.chatTemplate : parseChatTemplateSource(config['chat_template'], configFile);
  let engine: Engine;
  try {
    engine = new (engineClass(config))({ ...tokenizerJson, added_tokens: addedTokens }, config);
  } catch (err) {
    throw toTokenizerError(err, 'TOKENIZER_INVALID', `cannot build a tokenizer from "${jsonFile}"`);
  }
  return {
    engine,
    chat: new ChatTemplateRenderer(template, specialTokenVariables(config), plan.owner),
    vocabSize: engine.model.vocab.length,
  };
}

/** A tokenizer backed by the Hugging Face tokenizer engine and a Jinja chat template. */
class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly #folder: LoadedFolder;

  constructor(name: string, folder: LoadedFolder) {
    this.name = name;
    this.vocabSize = folder.vocabSize;
    this.#folder = folder;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerError('INVALID_INPUT', 'text must be a string');
    return this.#folder.engine.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    if (!Array.isArray(ids)) throw new TokenizerError('INVALID_INPUT', 'ids must be an array of token ids');
    // The engine rejects an empty list; Hugging Face decodes it to the empty string.
    if (ids.length === 0) return '';
    ids.forEach((id: unknown, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(
          'INVALID_INPUT',
          `ids[${i}] = ${String(id)} is not a token id of ${this.name} (vocabulary size ${this.vocabSize})`,
        );
      }
    });
    return this.#folder.engine.decode(ids as number[], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): string {
    return this.#folder.chat.render(messages, opts);
  }

  encodeChat(messages: ChatMessage[], opts?: ChatTemplateOptions): number[] {
    // The rendered prompt already carries the template's special tokens (e.g. a leading BOS).
    return this.encode(this.applyChatTemplate(messages, opts), { addSpecialTokens: false });
  }
}

function rememberTokenizer(plan: LoadPlan, loaded: LoadedFolder): Tokenizer {
  // First one wins, so a sync and an async load racing for the same key hand out one instance.
  const folder = folders.get(plan.folderKey) ?? loaded;
  folders.set(plan.folderKey, folder);
  let tokenizer = tokenizerCache.get(plan.name);
  if (tokenizer === undefined) {
    tokenizer = new HfTokenizer(plan.name, folder);
    tokenizerCache.set(plan.name, tokenizer);
  }
  return tokenizer;
}

/**
 * Loads a tokenizer by Hugging Face model name (bundled Qwen3 or Llama 3; any other name falls back to
 * Qwen3 and reports `fallback:qwen3`) or from a local folder in Hugging Face layout. Cached per source.
 */
export async function loadTokenizer(source: TokenizerSource): Promise<Tokenizer> {
  const plan = planLoad(source);
  const cached = tokenizerCache.get(plan.name);
  if (cached !== undefined) return cached;
  const ready = folders.get(plan.folderKey);
  if (ready !== undefined) return rememberTokenizer(plan, ready);
  let pending = folderLoads.get(plan.folderKey);
  if (pending === undefined) {
    pending = readFolderTexts(plan.folder).then((texts) => buildFolder(plan, texts));
    folderLoads.set(plan.folderKey, pending);
    // Failed loads are forgotten so that a fixed folder can be loaded on the next call.
    const forget = (): void => {
      folderLoads.delete(plan.folderKey);
    };
    pending.then(forget, forget);
  }
  return rememberTokenizer(plan, await pending);
}

/** Synchronous `loadTokenizer`, for server start-up and worker threads; blocks while files are read and parsed. */
export function loadTokenizerSync(source: TokenizerSource): Tokenizer {
  const plan = planLoad(source);
  const cached = tokenizerCache.get(plan.name);
  if (cached !== undefined) return cached;
  const ready = folders.get(plan.folderKey);
  if (ready !== undefined) return rememberTokenizer(plan, ready);
  return rememberTokenizer(plan, buildFolder(plan, readFolderTextsSync(plan.folder)));
}
