/**
 * `npm run demo`: the whole watchdog on this machine. Starts an RS cluster simulator (3 nodes,
 * HTTPS with its own CA), Pebble and pebble-challtestsrv with the httpreq DNS bridge, all on
 * loopback, then runs `check`, `renew` and `check` again with the real CLI. Its working directory
 * (.demo/: the config, the simulator's CA, the state) points at servers that stop with the demo, so
 * it is removed at the end: nothing unusable is left behind. `npm run demo -- --keep` keeps it.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runCli } from '../lambdas/cli/main';
import { startRsSimulator } from '../test/sim/rs-simulator';
import { startDnsBridge } from '../test/support/dns-bridge';
import { startPebble } from '../test/support/pebble';

const DAY = 86_400_000;
const at = (days: number) => new Date(Date.now() + days * DAY);
const dir = resolve('.demo');
const keep = process.argv.includes('--keep');

async function main(): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

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
          },
        },
      ],
    };
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const env = { ...process.env, RS_PASSWORD: cluster.password };
    const io = {
      stdout: (t: string) => process.stdout.write(t),
      stderr: (t: string) => process.stderr.write(t),
      env,
    };

    console.log(
      `RS simulator: ${cluster.url} (3 nodes), Pebble: ${pebble.directoryUrl}, DNS bridge: ${bridge.url}`,
    );
    console.log(`config: ${configPath}\n`);
    console.log('$ rs-cert-watchdog check --config .demo/config.json');
    const before = await runCli(['check', '--config', configPath], io);
    console.log(`(exit ${before})\n`);
    console.log('$ rs-cert-watchdog renew --config .demo/config.json');
    const renewed = await runCli(['renew', '--config', configPath], io);
    console.log(`(exit ${renewed})\n`);
    console.log('$ rs-cert-watchdog check --config .demo/config.json');
    const after = await runCli(['check', '--config', configPath], io);
    console.log(
      `(exit ${after}: syncer and ldap_client are not configured for ACME, so they stay to be replaced by hand)`,
    );
    const nodes = cluster.nodes
      .map((n) => `${n.addr}: proxy ${n.certificates.proxy?.slice(0, 11)}…`)
      .join(', ');
    console.log(`\nevery node now holds the new proxy certificate: ${nodes}`);
    // Exit 0 when the demo did what it shows: both managed certificates renewed and verified.
    return after === 1 &&
      renewed === 1 &&
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
