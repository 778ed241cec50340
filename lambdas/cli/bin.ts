import * as nodeModule from 'node:module';

// Node 22.1+ keeps the compiled bundle on disk between runs (os.tmpdir()/node-compile-cache, or
// NODE_COMPILE_CACHE): every later start skips most of the compile. Called before the CLI's own
// modules load, hence the dynamic import. Older Node has no such function and compiles each time.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { runCli } = await import('./main');

process.exitCode = await runCli(process.argv.slice(2));
