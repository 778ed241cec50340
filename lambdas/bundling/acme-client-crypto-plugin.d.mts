import type { Plugin } from 'esbuild';

/** See acme-client-crypto-plugin.mjs. */
export declare const acmeClientCryptoStub: Plugin;
