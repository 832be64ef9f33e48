// ZMQ topic llm-d deployments give vLLM (`--kv-events-config '{"topic":"kv@<ip:port>@<model>"}'`).

/** Pod endpoint and model named by a KV-event topic. */
export interface KvTopic {
  /** The publisher's `<ip>:<port>`, or the whole topic when it does not follow `kv@…@…`. */
  endpoint: string;
  /** Model name; "" when the topic does not carry one. */
  model: string;
}

/** Builds the topic `kv@<host:port>@<model>`. */
export function formatKvTopic(hostPort: string, model: string): string {
  return `kv@${hostPort}@${model}`;
}

/**
 * Reads `kv@<endpoint>@<model>`. Upstream splits on every '@' and, unless there are exactly three parts,
 * treats the whole topic as the pod id; we split on the first two '@' only, so a model name that itself
 * contains '@' survives. A topic with fewer than two '@' is the endpoint, with model "".
 */
export function parseKvTopic(topic: string): KvTopic {
  const first = topic.indexOf('@');
  const second = first < 0 ? -1 : topic.indexOf('@', first + 1);
  if (second < 0) return { endpoint: topic, model: '' };
  return { endpoint: topic.slice(first + 1, second), model: topic.slice(second + 1) };
}
