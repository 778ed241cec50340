/**
 * `npm run demo`: the whole watchdog on this machine. Starts an RS cluster simulator (3 nodes,
 * HTTPS with its own CA), Pebble and pebble-challtestsrv with the httpreq DNS bridge, all on
 * loopback, and makes a lab CA (the `local-ca` issuer). Then it runs `check`, `renew` and `check`
 * again with the built executable (dist/cli.mjs, built first, run as its own process, as `npx
 * rs-cert-watchdog` runs): api and proxy renew through ACME, syncer and ldap_client (which need
 * clientAuth, which public CAs no longer issue) through the lab CA, so the cluster ends with every
 * certificate fine. Its working directory (.demo/: the config, the CAs, the state) points at servers
 * that stop with the demo, so it is removed at the end: nothing unusable is left behind.
 * `npm run demo -- --keep` keeps it.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startRsSimulator } from '../test/sim/rs-simulator';
import { startDnsBridge } from '../test/support/dns-bridge';
import { startPebble } from '../test/support/pebble';
import { createCa } from '../test/support/pki';

const DAY = 86_400_000;
const at = (days: number) => new Date(Date.now() + days * DAY);
const dir = resolve('.demo');
const keep = process.argv.includes('--keep');

/** Runs the built executable as its own process, its output passed through; resolves its exit code. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['dist/cli.mjs', ...args], { env, stdio: 'inherit' });
    child.once('error', fail);
    child.once('exit', (code) => done(code ?? 1));
  });
}

async function main(): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // What `npm ci` builds (prepare): the demo runs the executable operators install, built from this tree.
  await new Promise((done, fail) => {
    const build = spawn(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
    build.once('error', fail);
    build.once('exit', (code) => (code === 0 ? done(code) : fail(new Error(`the build exited ${code}`))));
  });

  const cluster = await startRsSimulator({
    nodes: 3,
    certificates: {
      api: { dnsNames: ['cluster.example.com'], notBefore: at(-80), notAfter: at(10) },
      cm: { dnsNames: ['cluster.example.com'], notBefore: at(-30), notAfter: at(335) },
      proxy: { dnsNames: ['*.redis.example.com'], notBefore: at(-85), notAfter: at(4.5) },
      syncer: { dnsNames: ['syncer.example.com'], notBefore: at(-360), notAfter: at(12) },
      metrics_exporter: { dnsNames: ['metrics.example.com'], notBefore: at(-30), notAfter: at(335) },
      ldap_client: { dnsNames: ['ldap.example.com'], notBefore: at(-400), notAfter: at(-3) },
    },
  });
  // 90-day certificates, as Let's Encrypt issues today.
  const pebble = await startPebble({ certificateValiditySeconds: 90 * 86_400 });
  const bridge = await startDnsBridge(pebble.dns);
  try {
    await writeFile(join(dir, 'cluster-ca.pem'), cluster.caPem);
    // A lab CA for the certificates RS also uses as a TLS client (syncer, ldap_client).
    const labCa = await createCa({ commonName: 'Demo lab CA', keyKind: 'ecdsa' });
    await writeFile(join(dir, 'lab-ca.pem'), labCa.certPem);
    await writeFile(join(dir, 'lab-ca.key'), labCa.keyPem, { mode: 0o600 });
    const labIssuer = { type: 'local-ca', certFile: 'lab-ca.pem', keyFile: 'lab-ca.key', validityDays: 90 };
    const config = {
      $schema: '../config.schema.json',
      renewBeforeDays: 30,
      stateDir: 'state',
      acme: { directoryUrl: pebble.directoryUrl, email: 'ops@example.com', caFile: pebble.caFile },
      // The propagation check asks pebble-challtestsrv, the DNS server Pebble validates against.
      dns: { provider: 'httpreq', endpoint: bridge.url, resolvers: [pebble.dns.dnsAddress] },
      clusters: [
        {
          name: 'demo-cluster',
          endpoint: cluster.url,
          serverName: 'cluster.example.com',
          username: cluster.username,
          passwordEnv: 'RS_PASSWORD',
          caFile: 'cluster-ca.pem',
          certificates: {
            api: { domains: ['cluster.example.com'] },
            proxy: { domains: ['*.redis.example.com', 'redis.example.com'] },
            syncer: { domains: ['syncer.example.com'], keyType: 'ecdsa-p256', issuer: labIssuer },
            ldap_client: { domains: ['ldap.example.com'], keyType: 'ecdsa-p256', issuer: labIssuer },
          },
        },
      ],
    };
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const env = { PATH: process.env.PATH, RS_PASSWORD: cluster.password };

    console.log(
      `RS simulator: ${cluster.url} (3 nodes), Pebble: ${pebble.directoryUrl}, DNS bridge: ${bridge.url}`,
    );
    console.log(`config: ${configPath}\n`);
    console.log('$ rs-cert-watchdog check --config .demo/config.json');
    const before = await cli(['check', '--config', configPath], env);
    console.log(`(exit ${before})\n`);
    console.log('$ rs-cert-watchdog renew --config .demo/config.json');
    const renewed = await cli(['renew', '--config', configPath], env);
    console.log(`(exit ${renewed})\n`);
    console.log('$ rs-cert-watchdog check --config .demo/config.json');
    const after = await cli(['check', '--config', configPath], env);
    console.log(`(exit ${after}: every certificate of the cluster is fine)`);
    const nodes = cluster.nodes
      .map(
        (n) =>
          `${n.addr}: proxy ${n.certificates.proxy?.slice(0, 11)}…, syncer ${n.certificates.syncer?.slice(0, 11)}…`,
      )
      .join('; ');
    console.log(`\nevery node now holds the new certificates: ${nodes}`);
    // Exit 0 when the demo did what it shows: every certificate renewed, verified, and fine after.
    return before === 1 &&
      renewed === 0 &&
      after === 0 &&
      cluster.requests.some((r) => r.method === 'PUT' && r.status === 200)
      ? 0
      : 1;
  } finally {
    await bridge.close();
    await pebble.stop();
    await cluster.close();
    if (keep) {
      console.log("\n.demo/ kept (--keep); its config points at the demo's servers, which have stopped");
    } else {
      await rm(dir, { recursive: true, force: true });
      console.log("\n.demo/ removed (its config pointed at the demo's servers, which have stopped)");
    }
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(
      error instanceof Error && /ENOENT.*pebble/.test(error.message)
        ? 'Pebble is not installed: apt-get install -y pebble'
        : error,
    );
    process.exitCode = 1;
  },
);
