// esbuild plugin (scripts/build-cli.mjs, lambdas/bundling/acme-client-lean.mjs). Three things axios
// does when it loads cost every renewal's start for features acme-client never uses (it sets the
// `http` adapter, speaks HTTP/1.1 and sends JSON):
// - it reads `globalThis.FormData`, only to recognise FormData bodies by class; its duck typing
//   recognises them anyway (Object.prototype.toString says "[object FormData]"). Reading it makes
//   Node load its bundled undici (the fetch implementation): ~50 ms (bench/cli);
// - it probes the fetch adapter (`getFetch()`: Request, Response, a ReadableStream body) to seed a
//   cache that the adapter fills on first use anyway: undici again;
// - it requires `http2`, used only by its HTTP/2 transport (`httpVersion: 2`): loading Node's HTTP/2
//   module is ~2-5 ms (bench/cli profiles). It is now required where the transport first uses it.
// Each line is replaced; the build fails if an axios upgrade changes one.
import { readFileSync } from 'node:fs';

const AXIOS_PATCHES = [
  [
    "const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;",
    'const FormDataCtor = undefined;',
  ],
  ['\ngetFetch();\n', '\n'],
  ["var http2 = require('http2');", "var http2 = new Proxy({}, { get: (_, key) => require('http2')[key] });"],
];

export const axiosWithoutUndici = {
  name: 'axios-without-undici',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]axios[\\/]dist[\\/]node[\\/]axios\.cjs$/ }, (args) => {
      let source = readFileSync(args.path, 'utf8');
      for (const [find, replacement] of AXIOS_PATCHES) {
        if (source.split(find).length !== 2)
          throw new Error(
            `axios changed: ${JSON.stringify(find)} is not in ${args.path} once; review lambdas/bundling/axios-without-undici-plugin.mjs`,
          );
        source = source.replace(find, replacement);
      }
      return { contents: source, loader: 'js' };
    });
  },
};
