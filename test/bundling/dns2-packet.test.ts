/**
 * The bundles take dns2's Packet module alone (lambdas/bundling/dns2-packet-only.cjs, an esbuild
 * alias of `dns2` in lib/bundling/esbuild-options.json): dns2's entry point also loads its DNS
 * servers and its DoH and Google clients, and with them Node's http2, for nothing.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { lambdaBuildOptions } from '../../lib/bundling/esbuild-options';
import { importGraph } from '../support/import-graph';

const require = createRequire(import.meta.url);
const REPO = resolve(import.meta.dirname, '../..');
const DNS2_REST = /^node_modules\/dns2\/(index\.js|server\/|client\/)/;

describe("the bundles take dns2's Packet module alone", () => {
  it('is the module dns2 exports as Packet', () => {
    const shim = require('../../lambdas/bundling/dns2-packet-only.cjs') as { Packet: unknown };
    expect(shim.Packet).toBe((require('dns2') as { Packet: unknown }).Packet);
  });

  it('the CLI and the issue function reach dns2/packet.js and none of its servers or clients', async () => {
    const { cli } = require('../../lib/bundling/esbuild-options.json') as { cli: BuildOptions };
    const lambda = lambdaBuildOptions(REPO);
    for (const [entry, options] of [
      ['lambdas/cli/bin.ts', cli],
      ['lambdas/handlers/issue.ts', lambda],
    ] as const) {
      const inputs = Object.keys((await importGraph(entry, options)).inputs);
      expect(inputs, entry).toContain('node_modules/dns2/packet.js');
      expect(
        inputs.filter((f) => DNS2_REST.test(f)),
        entry,
      ).toEqual([]);
      // Without the alias the same entry does reach them: the check above can fail.
      const { dns2: _dropped, ...plainAlias } = options.alias as Record<string, string>;
      const plain = Object.keys((await importGraph(entry, { ...options, alias: plainAlias })).inputs);
      expect(
        plain.some((f) => DNS2_REST.test(f)),
        entry,
      ).toBe(true);
    }
  });
});
