// Starts worker.ts when the library runs from its TypeScript source (vitest, or node with the
// @llmd/source condition). Node strips the types itself, but our imports name the compiled `.js`
// files (NodeNext style), so a relative `./x.js` that does not exist is resolved to `./x.ts`.
// The built library never uses this file: dist/pool.js starts dist/worker.js directly.
import { registerHooks } from 'node:module';
import { workerData } from 'node:worker_threads';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      const fromTypeScript = context.parentURL?.endsWith('.ts') ?? false;
      if (err?.code === 'ERR_MODULE_NOT_FOUND' && fromTypeScript && specifier.startsWith('.') && specifier.endsWith('.js')) {
        return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
      }
      throw err;
    }
  },
});

await import(workerData.entry);
