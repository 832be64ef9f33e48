// The local stack: starts simulated model servers on localhost, sends a demo request through the
// official OpenAI client, prints the answer, and keeps running until Ctrl-C (or exits with --once).
// Run from the repository root after a build: node tools/local-stack/src/main.ts [--once]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const simMain = `${root}apps/inference-sim/dist/main.js`;
const once = process.argv.includes('--once');
const model = 'Qwen/Qwen3-0.6B';
const basePort = Number(process.env.LOCAL_STACK_PORT ?? 8100);
const servers = 4;

function fail(message: string): never {
  console.error(`local-stack: ${message}`);
  process.exit(1);
}

/** Starts the simulator process and resolves with its server URLs once it reports them. */
function startSimulators(): Promise<{ child: ChildProcess; urls: string[] }> {
  if (!existsSync(simMain)) fail(`${simMain} is missing: build first (pnpm nx build inference-sim)`);
  const args = [
    simMain,
    '--model', model,
    '--preset', 'qwen3-0.6b/h100',
    '--port', String(basePort),
    '--host', '127.0.0.1',
    '--data-parallel-size', String(servers),
    '--seed', '7',
    '--hash-seed', '42',
    '--enable-kvcache',
    '--zmq-endpoint', 'tcp://127.0.0.1:5557',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.on('exit', (code) => reject(new Error(`simulator exited with code ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; urls?: string[] };
          if (entry.msg === 'simulator listening' && entry.urls) resolve({ child, urls: entry.urls });
        } catch {
          // Not a log line of ours; ignore.
        }
      }
    });
  });
}

const { child, urls } = await startSimulators();
const stop = () => {
  child.kill('SIGTERM');
};
process.on('SIGINT', () => {
  stop();
  process.exit(0);
});

console.log(`\nSimulated model servers (${model}, engine model of an H100):`);
for (const url of urls) console.log(`  ${url}/v1   (metrics: ${url}/metrics)`);

const client = new OpenAI({ baseURL: `${urls[0]}/v1`, apiKey: 'not-needed' });
const question = 'In one sentence: why does a router care about the prefix cache?';
console.log(`\nDemo request to ${urls[0]}/v1/chat/completions: "${question}"`);
const answer = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: question }],
  max_tokens: 40,
  // @ts-expect-error vLLM extension: generate exactly max_tokens
  ignore_eos: true,
});
console.log(`Answer (${answer.usage?.completion_tokens} tokens of simulated text): ${answer.choices[0]?.message.content?.trim()}`);

if (once) {
  stop();
  process.exit(0);
}
console.log('\nThe stack is running. Try:');
console.log(`  curl -s ${urls[0]}/v1/completions -H 'content-type: application/json' -d '{"model":"${model}","prompt":"Hello","max_tokens":16}'`);
console.log('Press Ctrl-C to stop.');
