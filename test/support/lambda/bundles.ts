/**
 * The Lambda bundles exactly as `cdk synth` makes them: one real synth WITH bundling (the stack's
 * NodejsFunctions, lib/functions.ts, the shared esbuild options), whose asset directories are kept
 * in node_modules/.cache/ under a hash of everything that goes into them (lambdas/, lib/, the lock
 * file, cdk.json). Built once, by the first test process that needs them (a lock directory keeps
 * the other workers waiting), and reused by every later run until a source changes.
 *
 * Only the code is taken from the synth: each test writes its own deployed config beside a copy of
 * the bundle (lib/bundled-config.ts, the same code the bundling hook uses), since its simulators
 * listen on random ports.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { parseConfig } from '../../../lambdas/domain/config/schema';
import type { WatchdogConfig } from '../../../lambdas/domain/config/types';
import { WatchdogStack } from '../../../lib/watchdog-stack';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'rs-cert-watchdog');

/** The files of one function's bundle, as the asset directory holds them. */
export const BUNDLE_FILES = ['index.mjs', 'index.mjs.map'] as const;

export interface LambdaBundles {
  /** The cache directory of this build. */
  dir: string;
  /** By handler entry (`check.ts`, `check-any-region.ts`, `issue.ts`, …): the directory of its bundle. */
  entries: Record<string, string>;
}

/**
 * Two deployable configs: together their functions use every handler entry. The second has a cluster
 * secret in another region, so its check function is the check-any-region entry.
 */
const BUNDLED_CONFIGS: Record<string, WatchdogConfig> = {
  RsCertWatchdogBundles: representativeConfig('rs-cert-watchdog/clusters/east'),
  RsCertWatchdogBundlesAnyRegion: representativeConfig(
    'arn:aws:secretsmanager:eu-west-3:123456789012:secret:rs-cert-watchdog/clusters/east-Ab12Cd',
  ),
};

let cached: LambdaBundles | undefined;

/** The bundles of the current sources: from the cache, or built now (one synth with bundling). */
export function lambdaBundles(): LambdaBundles {
  if (cached) return cached;
  const dir = join(CACHE, `bundles-${sourceHash()}`);
  const manifest = join(dir, 'manifest.json');
  if (!existsSync(manifest)) buildLocked(dir);
  cached = { dir, entries: JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, string> };
  return cached;
}

/** The handler entry a synthesized function was built from, from its description (lib/functions.ts). */
export function entryOfDescription(description: string): string {
  const m = /^rs-cert-watchdog (\S+)(?: \((\S+)\))?$/.exec(description);
  if (!m) throw new Error(`not a watchdog function description: ${description}`);
  return m[2] ?? `${m[1]}.ts`;
}

function buildLocked(dir: string): void {
  mkdirSync(CACHE, { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (existsSync(join(dir, 'manifest.json'))) return;
      // A builder that died leaves its lock: take it over after a while.
      if (Date.now() - statSync(lock).mtimeMs > 5 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    if (!existsSync(join(dir, 'manifest.json'))) build(dir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function build(dir: string): void {
  const outdir = mkdtempSync(join(CACHE, 'synth-'));
  const staging = `${dir}.staging`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    // The asset metadata names each function's asset directory (the CDK CLI turns it on too).
    const app = new App({
      outdir,
      context: { ...context, [cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT]: true },
    });
    const stacks = Object.entries(BUNDLED_CONFIGS).map(
      ([id, config]) => new WatchdogStack(app, id, { config, watchdog: { projectRoot: ROOT } }),
    );
    const assembly = app.synth();
    const entries: Record<string, string> = {};
    for (const stack of stacks) {
      const template = assembly.getStackByName(stack.stackName).template as {
        Resources: Record<
          string,
          { Type: string; Properties: { Description?: string }; Metadata?: Record<string, string> }
        >;
      };
      for (const resource of Object.values(template.Resources)) {
        if (resource.Type !== 'AWS::Lambda::Function' || !resource.Properties.Description) continue;
        if (!resource.Properties.Description.startsWith('rs-cert-watchdog ')) continue;
        const entry = entryOfDescription(resource.Properties.Description);
        if (entries[entry]) continue;
        const asset = resource.Metadata?.['aws:asset:path'];
        if (!asset) throw new Error(`${entry}: no asset path in the template (was bundling skipped?)`);
        const target = join(staging, entry.replace(/\.ts$/, ''));
        mkdirSync(target, { recursive: true });
        for (const file of BUNDLE_FILES) copyFileSync(join(outdir, asset, file), join(target, file));
        entries[entry] = relative(staging, target);
      }
    }
    writeFileSync(
      join(staging, 'manifest.json'),
      JSON.stringify(Object.fromEntries(Object.entries(entries).map(([e, d]) => [e, join(dir, d)])), null, 2),
    );
    renameSync(staging, dir);
    // Builds of older sources: keep the previous one (a run may still be using it), drop the rest.
    const older = readdirSync(CACHE)
      .filter((d) => /^bundles-[0-9a-f]+$/.test(d) && join(CACHE, d) !== dir)
      .map((d) => join(CACHE, d))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    for (const old of older.slice(1)) rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}

/** What the bundles are made of: the product's sources, the lock file, the CDK context, this builder. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const files = [
    ...walk(join(ROOT, 'lambdas')),
    ...walk(join(ROOT, 'lib')),
    join(ROOT, 'package-lock.json'),
    join(ROOT, 'cdk.json'),
    fileURLToPath(import.meta.url),
  ];
  for (const file of files) {
    hash.update(relative(ROOT, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

function representativeConfig(credentialsSecret: string): WatchdogConfig {
  // Through the product's parser: the defaults (DNS propagation, retries…) are what a deployed config has.
  return parseConfig({
    renewBeforeDays: 30,
    stateDir: '.rs-cert-watchdog',
    concurrency: 8,
    acme: {
      directoryUrl: 'https://acme.example.com/directory',
      email: 'ops@example.com',
      keyType: 'rsa-2048',
    },
    dns: { provider: 'route53', hostedZoneId: 'Z0BUNDLES' },
    alerts: { emails: [], slackWebhookSecret: 'rs-cert-watchdog/slack-webhook' },
    pushRetry: { maxAttempts: 6, intervalSeconds: 10, backoffRate: 2, maxDelaySeconds: 240, jitter: 'FULL' },
    clusters: [
      {
        name: 'east',
        endpoint: 'https://cluster.example.com:9443',
        credentialsSecret,
        certificates: { proxy: { domains: ['*.redis.example.com'] } },
      },
    ],
  });
}
