// Starts a control plane in a process of its own, prints where it runs, then either exits
// without stop() (`exit`) or waits to be killed (`wait`). Used to check that nothing survives
// the test process. Runs the library's TypeScript source directly with Node's type stripping.
import { registerHooks } from 'node:module';

// The sources import each other as `./x.js`; map those to the `.ts` files beside them.
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      throw err;
    }
  },
});

const { startControlPlane } = await import('../index.ts');
const plane = await startControlPlane({ parentDir: process.argv[3] });
process.stdout.write(`${JSON.stringify({ server: plane.server, etcdUrl: plane.etcdUrl, dir: plane.dir, processGroups: plane.processGroups })}\n`);
if (process.argv[2] === 'exit') process.exit(0);
setInterval(() => {}, 60_000);
