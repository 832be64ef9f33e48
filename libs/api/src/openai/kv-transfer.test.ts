import { describe, expect, it } from 'vitest';
import { kvTransferParamsSchema, prefillLegKvTransferParams } from './kv-transfer.js';

describe('kvTransferParamsSchema', () => {
  it('accepts what the sidecar sends on the prefill leg', () => {
    const params = prefillLegKvTransferParams();
    expect(params).toEqual({
      do_remote_decode: true,
      do_remote_prefill: false,
      remote_engine_id: null,
      remote_block_ids: null,
      remote_host: null,
      remote_port: null,
    });
    expect(kvTransferParamsSchema.parse(params)).toEqual(params);
  });

  it.each([
    [
      'the simulator placeholder answer',
      {
        do_remote_decode: false,
        do_remote_prefill: true,
        remote_block_ids: ['DUMMY_ID'],
        remote_engine_id: 'DUMMY_ID',
        remote_host: 'DUMMY',
        remote_port: 1234,
        tp_size: 1,
      },
    ],
    ['vLLM integer block ids', { do_remote_prefill: true, remote_block_ids: [0, 7, 9], remote_host: '10.0.0.3', remote_port: 5600 }],
    ['connector-specific keys', { bootstrap_host: '10.0.0.1', bootstrap_port: 8998, bootstrap_room: 3 }],
  ])('accepts %s and keeps every key', (_label, params) => {
    expect(kvTransferParamsSchema.parse(params)).toEqual(params);
  });

  it.each([
    [{ do_remote_decode: 'yes' }, 'do_remote_decode'],
    [{ remote_port: 70000 }, 'remote_port'],
    [{ remote_block_ids: [true] }, 'remote_block_ids'],
    [{ tp_size: 0 }, 'tp_size'],
    [{ remote_host: 5 }, 'remote_host'],
  ])('rejects %j at %s', (params, field) => {
    const result = kvTransferParamsSchema.safeParse(params);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe(field);
  });
});
