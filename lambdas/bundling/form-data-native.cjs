// Bundled in place of the `form-data` package (esbuild alias, lib/bundling/esbuild-options.json).
// axios requires it at load for multipart bodies; acme-client never sends one. The package pulls in
// mime-db (a 134 KB JSON parsed at every start) and three stream helpers. With `null` here, axios
// uses the platform's FormData (Node 18+) if it ever needs one, and only then: reading that global
// loads Node's bundled undici, ~50 ms (bench/cli).
'use strict';
module.exports = null;
