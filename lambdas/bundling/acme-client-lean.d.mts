/** See acme-client-lean.mjs. */
export declare function leanAcmeClientFile(): string;
