import { z } from 'zod';
import { unionOf } from './common.js';

/**
 * `kv_transfer_params` as vLLM's NIXL connector reads and writes it. The P/D sidecar sends the
 * prefill leg `{do_remote_decode: true, do_remote_prefill: false, remote_*: null}`; the prefiller
 * answers with the object the decode leg must carry (`do_remote_prefill: true`, its engine id,
 * block ids, host and port). Other connectors (sglang, mooncake, offloading) add their own keys,
 * so unknown keys are kept.
 */
export const kvTransferParamsSchema = z.looseObject({
  do_remote_decode: z.boolean().optional(),
  do_remote_prefill: z.boolean().optional(),
  remote_engine_id: z.string().nullish(),
  // vLLM uses integer block ids; llm-d-inference-sim answers with strings ("DUMMY_ID").
  remote_block_ids: z.array(unionOf('integer or string', [z.number().int(), z.string()])).nullish(),
  remote_host: z.string().nullish(),
  remote_port: z.number().int().min(0).max(65535).nullish(),
  tp_size: z.number().int().min(1).optional(),
});

/** Parsed `kv_transfer_params`. */
export type KvTransferParams = z.infer<typeof kvTransferParamsSchema>;

/** The `kv_transfer_params` the P/D sidecar puts on the prefill leg of a nixlv2 request. */
export function prefillLegKvTransferParams(): KvTransferParams {
  return {
    do_remote_decode: true,
    do_remote_prefill: false,
    remote_engine_id: null,
    remote_block_ids: null,
    remote_host: null,
    remote_port: null,
  };
}
