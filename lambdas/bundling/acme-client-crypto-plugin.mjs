// esbuild plugin: acme-client's `./crypto` (required by its client, HTTP layer, utilities and
// `auto`) resolves to ./acme-client-crypto.cjs, node:crypto only, instead of the module that loads
// @peculiar/x509 1.x and asn1js. Used by scripts/build-cli.mjs and the benchmarks; the build fails
// if an acme-client upgrade stops requiring `./crypto` from its src/ (the stub would silently go).
import { fileURLToPath } from 'node:url';

const STUB = fileURLToPath(new URL('./acme-client-crypto.cjs', import.meta.url));
const ACME_SRC = /[\\/]node_modules[\\/]acme-client[\\/]src$/;

export const acmeClientCryptoStub = {
  name: 'acme-client-crypto-stub',
  setup(b) {
    let replaced = 0;
    let sawAcmeClient = false;
    b.onResolve({ filter: /^\.\/crypto$/ }, (args) => {
      if (!ACME_SRC.test(args.resolveDir)) return undefined;
      replaced++;
      return { path: STUB };
    });
    b.onResolve({ filter: /^acme-client$/ }, () => {
      sawAcmeClient = true;
      return undefined;
    });
    b.onEnd((result) => {
      if (sawAcmeClient && replaced === 0 && result.errors.length === 0)
        throw new Error(
          "acme-client no longer requires './crypto' from src/: review lambdas/bundling/acme-client-crypto-plugin.mjs",
        );
    });
  },
};
