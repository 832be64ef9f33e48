import type { PreRequestHook } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, recordedHeaders, request, schedulingResult } from '../test-support/fixtures.js';
import { PREFILLER_HOST_PORT_HEADER, prefillHeaderHandler } from './plugin.js';

const build = (params?: unknown): PreRequestHook =>
  prefillHeaderHandler.create('prefill-header-handler', prefillHeaderHandler.parameters.parse(params), handle()) as PreRequestHook;

const decode = endpoint({ id: 'ns/decode', address: '10.1.0.1', port: 8000 });
const prefill = endpoint({ id: 'ns/prefill', address: '10.1.0.2', port: 8200 });
const clientSent = { [PREFILLER_HOST_PORT_HEADER]: '6.6.6.6:80' };

describe('prefill-header-handler', () => {
  it.each([
    {
      name: 'prefill target: header set to its host:port, replacing the client value',
      params: undefined,
      result: schedulingResult({ decode: [decode], prefill: [prefill] }, 'decode'),
      want: '10.1.0.2:8200',
    },
    { name: 'no prefill result: client value cleared, nothing set', params: undefined, result: schedulingResult({ decode: [decode] }, 'decode'), want: undefined },
    {
      name: 'prefill profile failed (null): client value cleared',
      params: undefined,
      result: schedulingResult({ decode: [decode], prefill: null }, 'decode'),
      want: undefined,
    },
    {
      name: 'configured profile name is read, not "prefill"',
      params: { prefillProfile: 'p' },
      result: schedulingResult({ decode: [decode], prefill: [decode], p: [prefill] }, 'decode'),
      want: '10.1.0.2:8200',
    },
    {
      name: 'configured profile absent: the "prefill" profile is ignored',
      params: { prefillProfile: 'p' },
      result: schedulingResult({ decode: [decode], prefill: [prefill] }, 'decode'),
      want: undefined,
    },
  ])('$name', ({ params, result, want }) => {
    const headers = recordedHeaders();
    build(params).preRequest(context(), request({ headers: clientSent }), result, headers);
    expect(headers.headers.get(PREFILLER_HOST_PORT_HEADER)).toBe(want);
    // Either replaced by the prefill target or removed: the client's value never reaches the pod.
    if (want === undefined) expect(headers.removed.has(PREFILLER_HOST_PORT_HEADER)).toBe(true);
  });

  it('rejects unknown parameters and empty profile names', () => {
    expect(prefillHeaderHandler.parameters.safeParse({ prefillProfile: '' }).success).toBe(false);
    expect(prefillHeaderHandler.parameters.safeParse({ encodeProfile: 'e' }).success).toBe(false);
  });

  it('also answers to its HEAD name disagg-headers-handler', () => {
    expect(prefillHeaderHandler.aliases).toContain('disagg-headers-handler');
  });
});
