/**
 * A fleet with every certificate status and every cluster outcome, for the observability tests
 * (metrics, HTML report, JSON Schema): on `prod-east`, ok, expiring, expired and invalid
 * certificates, one with a hostile name, and a managed `proxy` due for renewal; `staging`, whose
 * managed `proxy` fails to push (400) when renewed; `prod-west`, which refuses our password
 * (AuthenticationError: the cluster cannot be read).
 */
import { daysFromNow, startWorld, type World } from './world';

/**
 * Control characters, a bidi override, quotes, backslashes, markup and a script: everything that
 * could break a metrics file, an HTML page or a terminal.
 */
export const HOSTILE_NAME =
  'evil\u001b[2J\u0007\r\n"quoted" \\back\\slash\u202e<script>alert(1)</script><img src=x onerror=alert(2)>';

export async function startEveryStatusWorld(options: { pebble: boolean }): Promise<World> {
  const world = await startWorld({
    clusters: {
      'prod-east': {
        softwareVersion: '7.22.2-14',
        nodeSoftwareVersions: { 3: '7.4.6-22' },
        certificates: {
          api: { dnsNames: ['cluster.example.com'], notBefore: daysFromNow(-10), notAfter: daysFromNow(355) },
          cm: { dnsNames: ['cluster.example.com'], notBefore: daysFromNow(-80), notAfter: daysFromNow(10) },
          proxy: { dnsNames: ['*.redis.example.com'], notBefore: daysFromNow(-85), notAfter: daysFromNow(5) },
          syncer: {
            dnsNames: ['syncer.example.com'],
            notBefore: daysFromNow(-400),
            notAfter: daysFromNow(-3),
          },
          metrics_exporter: {
            dnsNames: ['metrics.example.com'],
            notBefore: daysFromNow(-30),
            notAfter: daysFromNow(60),
          },
          ldap_client: {
            dnsNames: ['ldap.example.com'],
            notBefore: daysFromNow(-100),
            notAfter: daysFromNow(20),
          },
        },
      },
      staging: {
        certificates: {
          api: { dnsNames: ['staging.example.com'], notBefore: daysFromNow(-5), notAfter: daysFromNow(85) },
          cm: { dnsNames: ['staging.example.com'], notBefore: daysFromNow(-5), notAfter: daysFromNow(85) },
          proxy: {
            dnsNames: ['*.staging.example.com'],
            notBefore: daysFromNow(-88),
            notAfter: daysFromNow(2),
          },
          syncer: {
            dnsNames: ['syncer.staging.example.com'],
            notBefore: daysFromNow(-5),
            notAfter: daysFromNow(85),
          },
          metrics_exporter: {
            dnsNames: ['metrics.staging.example.com'],
            notBefore: daysFromNow(-5),
            notAfter: daysFromNow(85),
          },
        },
      },
      'prod-west': {},
    },
    pebble: options.pebble ? {} : false,
  });
  const east = world.sims['prod-east']!;
  // `metrics_exporter` does not parse (invalid); a certificate with a hostile name does (a bar, a row).
  east.setCertificateField(
    'metrics_exporter_cert',
    '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
  );
  east.setCertificateField(`${HOSTILE_NAME}_cert`, east.certificate('api')!.certPem);
  // prod-west changed its password: the watchdog's is refused (401).
  world.sims['prod-west']!.setPassword('rotated-elsewhere');
  return world;
}

/**
 * The config. With Pebble, `proxy` is managed (ACME) on prod-east and staging; without it every
 * certificate is only watched (no ACME section, so no request leaves for a real CA).
 */
export function writeEveryStatusConfig(world: World, extra: Record<string, unknown> = {}): Promise<string> {
  if (!world.pebble) return world.writeConfig(extra);
  return world.writeConfig(extra, {
    'prod-east': { certificates: { proxy: { domains: ['*.redis.example.com'] } } },
    staging: { certificates: { proxy: { domains: ['*.staging.example.com'] } } },
  });
}
