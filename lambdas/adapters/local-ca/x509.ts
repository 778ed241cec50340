/**
 * @peculiar/x509, loaded after the reflect polyfill its dependency injection (tsyringe) needs.
 * Chosen over node-forge for signing: 9.1 ms (RSA) and 5.1 ms (P-256) a certificate against forge's
 * 21.1 ms, and forge cannot do ECDSA at all (bench/x509-signing.bench.ts).
 *
 * Loaded in that order at run time, not by two static imports: bundled, esbuild places the code of
 * an ES module dependency (@peculiar/x509) before any `require` of a CommonJS one (reflect-metadata)
 * whatever their import order, and the built CLI failed "tsyringe requires a reflect polyfill" on
 * every private-CA issue (test/integration/rs8.test.ts runs it).
 */
export type X509 = typeof import('@peculiar/x509');

let loading: Promise<X509> | undefined;

export function loadX509(): Promise<X509> {
  loading ??= import('reflect-metadata').then(() => import('@peculiar/x509'));
  return loading;
}
