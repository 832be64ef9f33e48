/** An invalid engine or latency-model setting; `option` is its path in `EngineOptions`. */
export class EngineOptionsError extends Error {
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(`${option}: ${message}`, options);
    this.name = 'EngineOptionsError';
    this.option = option;
  }
}
