import { PRESETS, profileCurves, type ProfileCurves } from '../engine/index.js';
import { parseOptions } from '../options.js';
import { buildEngineSetup } from '../server/engine-setup.js';

const pad = (s: string | number, n: number) => String(s).padStart(n);

/** Renders the curves as the tables `profile` prints. */
export function formatProfile(c: ProfileCurves): string {
  const lines = [`Latency model: ${c.model}, preset ${c.preset}`, '', 'Inter-token latency (ms) by batch size and context per request:'];
  const contexts = [...new Set(c.interTokenLatency.map((p) => p.contextTokens))];
  const batches = [...new Set(c.interTokenLatency.map((p) => p.batchSize))];
  lines.push(`${pad('batch', 8)}${contexts.map((ctx) => pad(`ctx ${ctx}`, 12)).join('')}`);
  for (const b of batches) {
    const row = contexts.map((ctx) => {
      const p = c.interTokenLatency.find((x) => x.batchSize === b && x.contextTokens === ctx);
      return pad(p ? `${p.itlMs.toFixed(2)}${p.fits ? '' : '*'}` : '-', 12);
    });
    lines.push(`${pad(b, 8)}${row.join('')}`);
  }
  lines.push('  (* the engine cannot hold this batch with the configured limits)', '', 'Time to first token (ms) of a lone request by prompt length and cached fraction:');
  const fractions = [...new Set(c.timeToFirstToken.map((p) => p.cachedFraction))];
  const prompts = [...new Set(c.timeToFirstToken.map((p) => p.promptTokens))];
  lines.push(`${pad('prompt', 8)}${fractions.map((f) => pad(`cached ${Math.round(f * 100)}%`, 13)).join('')}`);
  for (const n of prompts) {
    const row = fractions.map((f) => {
      const p = c.timeToFirstToken.find((x) => x.promptTokens === n && x.cachedFraction === f);
      return pad(p ? p.ttftMs.toFixed(1) : '-', 13);
    });
    lines.push(`${pad(n, 8)}${row.join('')}`);
  }
  lines.push('', 'Decode throughput at saturation:');
  for (const s of c.saturation) {
    lines.push(`  context ${s.contextTokens}: batch ${s.batchSize} (limited by ${s.limitedBy}), ITL ${s.itlMs.toFixed(2)} ms, ${Math.round(s.tokensPerSecond)} tokens/s`);
  }
  return lines.join('\n');
}

/**
 * `profile [--list-presets] [--json] [simulator flags]`: prints the latency model's curves for the
 * options given (the same flags as the server; --model defaults to the preset's model).
 */
export function runProfile(argv: readonly string[]): number {
  if (argv.includes('--list-presets')) {
    for (const p of PRESETS) console.log(`${p.name.padEnd(24)}${p.description}`);
    return 0;
  }
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const withModel = rest.includes('--model') || rest.some((a) => a.startsWith('--model=')) ? rest : ['--model', 'profile', ...rest];
  const parsed = parseOptions(withModel);
  if (parsed.kind === 'help') {
    console.log('Usage: node apps/inference-sim/dist/main.js profile [--list-presets] [--json] [--preset NAME] [simulator flags]');
    return 0;
  }
  const setup = buildEngineSetup(parsed.options);
  const curves = profileCurves(setup.options);
  console.log(json ? JSON.stringify(curves, null, 2) : formatProfile(curves));
  return 0;
}
