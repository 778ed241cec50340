/**
 * The one set of esbuild options. The stack's NodejsFunctions, scripts/build-cli.mjs and the
 * benchmarks all build from ./esbuild-options.json, so a benchmark measures what ships.
 *
 * The data is JSON so that scripts/build-cli.mjs (plain Node, run by `npm ci` before any TypeScript
 * runner exists) reads the same file. Why each option:
 * - `lambda.target` is the Lambda runtime's Node major (lib/functions.ts checks they agree).
 * - `mainFields: [module, main]` (both builds): ESM builds of dependencies first, for tree shaking and
 *   without the CommonJS interop of packages such as @peculiar/asn1-* (measured in bench/cli).
 * - The banner gives the ESM bundle a `require`, which some CommonJS dependencies still call.
 * - Linked source maps without sources: stack traces only (NODE_OPTIONS=--enable-source-maps); without
 *   the sources they are a fraction of the size.
 * - `alias node-forge`: acme-client loads its deprecated node-forge API eagerly; we never call it
 *   (node:crypto instead), so a stub replaces it (−300 KB). `alias form-data`: axios loads it for
 *   multipart bodies, never sent; it brings mime-db (a 134 KB JSON parsed at load).
 * - `alias http` / `node:http`: a CommonJS shim, so that no ES import of node:http makes Node 22+
 *   load undici (lambdas/bundling/node-http-on-use.cjs).
 * - `alias dns2`: its Packet module alone (lambdas/bundling/dns2-packet-only.cjs), the one part
 *   adapters/dns-wire uses; dns2's entry point also loads its servers, its DoH client and http2.
 * - `alias acme-client` (Lambda bundles, added by `lambdaBuildOptions`): acme-client prebuilt with
 *   the CLI build's plugins (lambdas/bundling/acme-client-lean.mjs): no @peculiar/x509 1.x or asn1js
 *   on the issue function's ACME path, and no undici.
 * - The AWS SDK is bundled, never external: the versions we test are the versions that run,
 *   tree-shaken; leaving it external was measured to gain nothing at load (bench/cold-start).
 * - `cli.target` is the oldest Node the package supports (package.json `engines`; the tests also run
 *   the CLI on this machine's Node 20, which its syntax still suits); everything is
 *   bundled and code split (scripts/build-cli.mjs): ACME, the AWS SDK and the DNS providers load only
 *   on the paths that use them. Whitespace and syntax are minified (less to compile at each start), identifiers kept: error
 *   names are set explicitly (domain/errors.ts), and a linked source map serves stack traces.
 */
import { isAbsolute, join } from 'node:path';
import { leanAcmeClientFile } from '../../lambdas/bundling/acme-client-lean.mjs';
import options from './esbuild-options.json' with { type: 'json' };

/** esbuild build options for a Lambda handler bundle (JS API spelling). */
export interface LambdaBuildOptions {
  readonly bundle: true;
  readonly platform: 'node';
  readonly format: 'esm';
  readonly target: string;
  readonly mainFields: string[];
  readonly minify: boolean;
  readonly sourcemap: 'linked';
  readonly sourcesContent: boolean;
  readonly banner: { js: string };
  readonly alias: Record<string, string>;
}

/** The Node major the Lambda bundles are built for, e.g. `node24`. */
export const LAMBDA_NODE_TARGET: string = options.lambda.target;
/** The Node major the CLI bundle is built for (package.json `engines`), e.g. `node22`. */
export const CLI_NODE_TARGET: string = options.cli.target;

/**
 * The Lambda bundle options, with the alias paths made absolute against `projectRoot` (the CDK
 * runs esbuild from another directory; the benchmarks may too).
 */
export function lambdaBuildOptions(projectRoot: string): LambdaBuildOptions {
  const alias = Object.fromEntries(
    Object.entries(options.lambda.alias).map(([name, path]) => [
      name,
      isAbsolute(path) ? path : join(projectRoot, path),
    ]),
  );
  // acme-client built with the CLI's plugins (node:crypto for its crypto module, axios without
  // undici): the NodejsFunctions' esbuild command line takes no plugins, so it takes this file.
  alias['acme-client'] = leanAcmeClientFile();
  return {
    ...options.lambda,
    bundle: true,
    platform: 'node',
    format: 'esm',
    sourcemap: 'linked',
    mainFields: [...options.lambda.mainFields],
    banner: { ...options.lambda.banner },
    alias,
  };
}
