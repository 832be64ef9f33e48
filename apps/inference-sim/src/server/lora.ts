import type { LoraModule } from '../options.js';

/** A loaded adapter and the integer id vLLM reports as `lora_id`. */
export interface LoadedLora {
  name: string;
  path: string;
  baseModelName: string;
  id: number;
  loadedAt: number;
}

/** Why a load or unload was refused, with the status vLLM answers. */
export class LoraError extends Error {
  readonly status: 400 | 404;
  constructor(status: 400 | 404, message: string) {
    super(message);
    this.name = 'LoraError';
    this.status = status;
  }
}

/**
 * The adapters a server knows: those from `--lora-modules` plus those loaded at run time through
 * `/v1/load_lora_adapter`. `max-cpu-loras` bounds how many are loaded at once; `max-loras` (how many
 * may run in one batch) is the engine's business.
 */
export class LoraRegistry {
  readonly #byName = new Map<string, LoadedLora>();
  readonly #capacity: number;
  readonly #baseModel: string;
  #nextId = 1;

  constructor(baseModel: string, modules: readonly LoraModule[], capacity: number | null) {
    this.#baseModel = baseModel;
    this.#capacity = Math.max(capacity ?? 0, modules.length, 1);
    for (const m of modules) this.load(m.name, m.path, m.baseModelName);
  }

  /** Loads an adapter; 400 if the name is taken or every slot is used, as vLLM answers. */
  load(name: string, path: string, baseModelName: string | null = null): LoadedLora {
    if (this.#byName.has(name)) throw new LoraError(400, `The lora adapter '${name}' has already been loaded.`);
    if (this.#byName.size >= this.#capacity) {
      throw new LoraError(400, `Cannot load LoRA adapter '${name}': all ${this.#capacity} adapter slots are in use (--max-cpu-loras).`);
    }
    const lora: LoadedLora = { name, path, baseModelName: baseModelName ?? this.#baseModel, id: this.#nextId++, loadedAt: Date.now() };
    this.#byName.set(name, lora);
    return lora;
  }

  /** Unloads an adapter; 404 if it is not loaded. */
  unload(name: string): void {
    if (!this.#byName.delete(name)) throw new LoraError(404, `The lora adapter '${name}' cannot be found.`);
  }

  /** The adapter with that name, if loaded. */
  get(name: string): LoadedLora | undefined {
    return this.#byName.get(name);
  }

  /** Every loaded adapter, in load order. */
  list(): LoadedLora[] {
    return [...this.#byName.values()];
  }
}
