import { describe, it, expect } from 'vitest';
import { formatKvTopic, parseKvTopic, type KvTopic } from './kv-topic.js';

describe('KV-event topics', () => {
  it('formats kv@<host:port>@<model>', () => {
    expect(formatKvTopic('10.0.0.7:8000', 'Qwen/Qwen3-0.6B')).toBe('kv@10.0.0.7:8000@Qwen/Qwen3-0.6B');
  });

  it.each<[string, KvTopic]>([
    ['kv@10.0.0.7:8000@Qwen/Qwen3-0.6B', { endpoint: '10.0.0.7:8000', model: 'Qwen/Qwen3-0.6B' }],
    ['kv@[fd00::1]:8000@meta-llama/Llama-3.1-8B', { endpoint: '[fd00::1]:8000', model: 'meta-llama/Llama-3.1-8B' }],
    // Upstream would keep the whole topic as the pod id here; we keep the model name whole.
    ['kv@10.0.0.7:8000@org/model@v2', { endpoint: '10.0.0.7:8000', model: 'org/model@v2' }],
    ['kv@10.0.0.7:8000@', { endpoint: '10.0.0.7:8000', model: '' }],
    ['10.0.0.7:8000', { endpoint: '10.0.0.7:8000', model: '' }],
    ['kv@10.0.0.7:8000', { endpoint: 'kv@10.0.0.7:8000', model: '' }],
    ['', { endpoint: '', model: '' }],
  ])('parses %j', (topic, expected) => {
    expect(parseKvTopic(topic)).toEqual(expected);
  });

  it('round-trips a model name that contains "@"', () => {
    expect(parseKvTopic(formatKvTopic('1.2.3.4:80', 'a@b@c'))).toEqual({ endpoint: '1.2.3.4:80', model: 'a@b@c' });
  });
});
