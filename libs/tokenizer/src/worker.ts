// Entry of a TokenizerPool worker thread: loads one tokenizer, then answers requests in order.
// Runs as dist/worker.js when built, or through worker-from-source.mjs when running from src/.
import { parentPort, workerData } from 'node:worker_threads';
import { toTokenizerError } from './errors.js';
import { loadTokenizerSync } from './load.js';
import type { Tokenizer } from './types.js';
import type { SerializedError, WorkerInit, WorkerMessage, WorkerRequest } from './worker-protocol.js';

function serialize(err: unknown): SerializedError {
  const error = toTokenizerError(err, 'WORKER_FAILED', 'tokenizer worker error');
  return { code: error.code, message: error.message };
}

function run(tokenizer: Tokenizer, request: WorkerRequest): unknown {
  switch (request.op) {
    case 'encode':
      return tokenizer.encode(request.text, request.opts);
    case 'decode':
      return tokenizer.decode(request.ids, request.opts);
    case 'applyChatTemplate':
      return tokenizer.applyChatTemplate(request.messages, request.opts);
    case 'encodeChat':
      return tokenizer.encodeChat(request.messages, request.opts);
  }
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('worker.js must run in a worker thread started by TokenizerPool');
  const send = (message: WorkerMessage): void => port.postMessage(message);
  let tokenizer: Tokenizer;
  try {
    tokenizer = loadTokenizerSync((workerData as WorkerInit).source);
  } catch (err) {
    send({ kind: 'failed', error: serialize(err) });
    port.close();
    return;
  }
  port.on('message', (request: WorkerRequest) => {
    try {
      send({ kind: 'reply', id: request.id, ok: true, value: run(tokenizer, request) });
    } catch (err) {
      send({ kind: 'reply', id: request.id, ok: false, error: serialize(err) });
    }
  });
  send({ kind: 'ready', name: tokenizer.name, vocabSize: tokenizer.vocabSize });
}

main();
