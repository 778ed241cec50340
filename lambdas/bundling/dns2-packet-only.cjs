// Bundled in place of `dns2` (esbuild alias, lib/bundling/esbuild-options.json). The product uses
// dns2 for one thing, its Packet encoder and decoder (lambdas/adapters/dns-wire); its own UDP and TCP
// exchange is in dns-wire/transport.ts. dns2's entry point also loads its DNS servers and its DoH and
// Google clients, and through them Node's http2, dgram server and https modules: ~9 ms of every
// renewal's start on Node 24, for nothing (bench/cli). dns2's package `exports` names only its entry
// point, so the Packet module is reached by its path; dns2 is a direct dependency, at the top of
// node_modules. Anything else imported from 'dns2' is undefined in a bundle: a test of the bundles
// that speaks DNS (RFC 2136 against BIND, the CNAME reads) would fail.
'use strict';
module.exports = { Packet: require('../../node_modules/dns2/packet.js') };
