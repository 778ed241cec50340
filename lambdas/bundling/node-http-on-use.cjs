// Bundled in place of `node:http` and `http` (esbuild alias, lib/bundling/esbuild-options.json).
// From Node 22, node:http has lazy getters (WebSocket, CloseEvent, MessageEvent) that load Node's
// bundled undici. An ESM `import ... from 'node:http'` reads every export of the builtin when it
// links, so it loads undici for nothing: ~20-30 ms of every CLI start and every Lambda cold start on
// Node 24 (bench/cli). Through this CommonJS module the bundle reads each export only where it uses
// it. process.getBuiltinModule is Node >= 20.16 / 22.3; older, a plain require by a name esbuild
// cannot see (a require('node:http') here would be aliased back to this file).
'use strict';
const builtin =
  typeof process.getBuiltinModule === 'function'
    ? process.getBuiltinModule('node:http')
    : require('node:module').createRequire('/')('node:http');
module.exports = builtin;
