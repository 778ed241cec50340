// Bundled in place of node-forge (esbuild alias, see lib/ and bench/). acme-client's index loads
// its deprecated forge API eagerly, 300 KB we never call: we use acme.crypto (node:crypto/WebCrypto).
// Its module body touches exactly this one property at load; anything else would be a bug to see.
'use strict';
const unused = () => {
  throw new Error(
    "node-forge is not bundled: rs-cert-watchdog does not use acme-client's deprecated forge API",
  );
};
module.exports = { pki: { rsa: { generateKeyPair: unused } } };
