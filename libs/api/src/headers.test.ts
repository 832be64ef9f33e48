import { describe, expect, it } from 'vitest';
import * as headers from './headers.js';
import { headerValue, REQUEST_DROPPED_REASONS, ROUTER_OWNED_REQUEST_HEADERS } from './headers.js';

describe('header names', () => {
  // Upstream spellings from the reference pages; a typo here breaks wire compatibility silently.
  it.each([
    ['DESTINATION_ENDPOINT_HEADER', 'x-gateway-destination-endpoint'],
    ['LB_METADATA_NAMESPACE', 'envoy.lb'],
    ['DESTINATION_ENDPOINT_SERVED_KEY', 'x-gateway-destination-endpoint-served'],
    ['SUBSET_HINT_NAMESPACE', 'envoy.lb.subset_hint'],
    ['DESTINATION_ENDPOINT_SUBSET_KEY', 'x-gateway-destination-endpoint-subset'],
    ['OBJECTIVE_HEADER', 'x-llm-d-inference-objective'],
    ['OBJECTIVE_HEADER_DEPRECATED', 'x-gateway-inference-objective'],
    ['FAIRNESS_ID_HEADER', 'x-llm-d-inference-fairness-id'],
    ['FAIRNESS_ID_HEADER_DEPRECATED', 'x-gateway-inference-fairness-id'],
    ['DEFAULT_FAIRNESS_ID', 'default-flow'],
    ['MODEL_NAME_REWRITE_HEADER', 'x-llm-d-model-name-rewrite'],
    ['MODEL_NAME_REWRITE_HEADER_DEPRECATED', 'x-gateway-model-name-rewrite'],
    ['REQUEST_DROPPED_REASON_HEADER', 'x-llm-d-request-dropped-reason'],
    ['PREFILLER_HOST_PORT_HEADER', 'x-prefiller-host-port'],
    ['PREFILLER_URL_HEADER_LEGACY', 'x-prefiller-url'],
    ['SESSION_TOKEN_HEADER', 'x-session-token'],
    ['REQUEST_ID_HEADER', 'x-request-id'],
    ['INFERENCE_POD_HEADER', 'x-inference-pod'],
    ['INFERENCE_NAMESPACE_HEADER', 'x-inference-namespace'],
    ['INFERENCE_PORT_HEADER', 'x-inference-port'],
    ['GATEWAY_MODEL_NAME_HEADER', 'x-gateway-model-name'],
  ])('%s is %s', (name, value) => {
    expect((headers as Record<string, unknown>)[name]).toBe(value);
  });

  it('spells every header name in lower case', () => {
    for (const value of Object.values(headers)) {
      if (typeof value === 'string') expect(value).toBe(value.toLowerCase());
    }
  });

  it('lists the dropped reasons upstream emits', () => {
    expect(REQUEST_DROPPED_REASONS).toContain('rejected-saturated');
    expect(REQUEST_DROPPED_REASONS).toContain('rejected-no-endpoints');
    expect(new Set(REQUEST_DROPPED_REASONS).size).toBe(REQUEST_DROPPED_REASONS.length);
  });

  it('marks the router-consumed headers, aliases included, but not pass-through ones', () => {
    for (const name of ['x-llm-d-inference-objective', 'x-gateway-inference-objective', 'x-gateway-model-name-rewrite', 'x-slo-ttft-ms', 'content-length']) {
      expect(ROUTER_OWNED_REQUEST_HEADERS.has(name)).toBe(true);
    }
    for (const name of ['x-request-id', 'x-prefiller-host-port', 'authorization']) {
      expect(ROUTER_OWNED_REQUEST_HEADERS.has(name)).toBe(false);
    }
  });
});

describe('headerValue', () => {
  it.each([
    ['the current name', { 'x-llm-d-inference-objective': 'batch' }, 'batch'],
    ['the deprecated alias', { 'x-gateway-inference-objective': 'legacy' }, 'legacy'],
    ['the current name over the alias', { 'x-gateway-inference-objective': 'old', 'x-llm-d-inference-objective': 'new' }, 'new'],
    ['an alias when the current value is empty', { 'x-llm-d-inference-objective': '', 'x-gateway-inference-objective': 'old' }, 'old'],
    ['a hand-built record in mixed case', { 'X-LLM-D-Inference-Objective': 'mixed' }, 'mixed'],
    ['the first of repeated values', { 'x-llm-d-inference-objective': ['a', 'b'] }, 'a'],
    ['nothing', { 'x-request-id': 'r' }, undefined],
  ])('reads %s', (_label, record, expected) => {
    expect(headerValue(record, headers.OBJECTIVE_HEADER)).toBe(expected);
  });

  it('reads fetch Headers and the legacy prefiller name', () => {
    const fetchHeaders = new Headers({ 'X-Prefiller-Url': '10.0.0.2:8000' });
    expect(headerValue(fetchHeaders, headers.PREFILLER_HOST_PORT_HEADER)).toBe('10.0.0.2:8000');
  });

  it('reads headers that have no alias', () => {
    expect(headerValue({ 'x-request-id': 'abc' }, 'X-Request-Id')).toBe('abc');
  });
});
