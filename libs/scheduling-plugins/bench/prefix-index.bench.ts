// Benchmark of the approximate prefix index and block hashing. Plain Node 24 runs it (types are
// stripped); this entry registers a resolve hook that maps the sources' `.js` specifiers to their
// `.ts` files and adds the workspace's `@llmd/source` condition, then loads the measurements, so no
// build step is needed:
//
//   node --expose-gc libs/scheduling-plugins/bench/prefix-index.bench.ts [--out report.json]
//
// Prints one JSON object per measurement and, with --out, writes them all as one report.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const withSource = { ...context, conditions: [...(context.conditions ?? []), '@llmd/source'] };
    try {
      return nextResolve(specifier, withSource);
    } catch (err) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return nextResolve(`${specifier.slice(0, -3)}.ts`, withSource);
      throw err;
    }
  },
});

// Loaded after the hook exists: its static imports need it.
const { runPrefixIndexBench } = await import('./prefix-index.run.js');
const out = process.argv.indexOf('--out');
runPrefixIndexBench(out >= 0 ? process.argv[out + 1] : undefined);
