/**
 * @peculiar/x509, loaded only through `loadX509()`, after the Reflect metadata polyfill its
 * dependency injection (tsyringe) needs: tsyringe throws at load time without it ("tsyringe requires
 * a reflect polyfill").
 *
 * Why a function and not `import 'reflect-metadata'; export * from '@peculiar/x509'`: reflect-metadata
 * is CommonJS, and a bundler places the call that runs a CommonJS module in the importing module's
 * body, which runs after every ES module it imports, @peculiar/x509 included. In dist/cli.mjs the
 * polyfill then sat in a chunk that had not run when the x509 chunk loaded, and `renew` failed for
 * every local-ca and aws-private-ca certificate. Awaiting the polyfill before importing the library
 * orders them in every build (code-split CLI chunks, single-file Lambda bundles, tsx), whatever the
 * bundler does with static imports. Nothing may import '@peculiar/x509' any other way
 * (test/bundling/x509-loading.test.ts checks every bundle that contains it).
 *
 * Chosen over node-forge for signing: 9.1 ms (RSA) and 5.1 ms (P-256) a certificate against forge's
 * 21.1 ms, and forge cannot do ECDSA at all (bench/x509-signing.bench.ts).
 */
export type X509 = typeof import('@peculiar/x509');

let loading: Promise<X509> | undefined;

/** The @peculiar/x509 module, the polyfill installed first. Loaded once per process. */
export function loadX509(): Promise<X509> {
  loading ??= (async () => {
    await import('reflect-metadata');
    return import('@peculiar/x509');
  })();
  loading.catch(() => {
    loading = undefined; // a failed load is tried again by the next caller
  });
  return loading;
}
