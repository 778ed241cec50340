// esbuild plugin (scripts/build-cli.mjs, lambdas/bundling/acme-client-lean.mjs). Two things axios
// does when it loads make Node load its bundled undici (the fetch implementation), ~50 ms of every
// renewal's start (bench/cli), for features acme-client never uses (it sets the `http` adapter and
// sends JSON):
// - it reads `globalThis.FormData`, only to recognise FormData bodies by class; its duck typing
//   recognises them anyway (Object.prototype.toString says "[object FormData]");
// - it probes the fetch adapter (`getFetch()`: Request, Response, a ReadableStream body) to seed a
//   cache that the adapter fills on first use anyway.
// Both lines are replaced; the build fails if an axios upgrade changes either.
import { readFileSync } from 'node:fs';

const AXIOS_PATCHES = [
  [
    "const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;",
    'const FormDataCtor = undefined;',
  ],
  ['\ngetFetch();\n', '\n'],
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
