import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadDeployedConfig } from '../../lambdas/adapters/config-file';
import { DEPLOYED_CONFIG_MARKER, type WatchdogConfig } from '../../lambdas/domain/config/types';
import { BUNDLED_CONFIG_FILE, writeBundledConfig } from '../../lib/bundled-config';
import { createCa } from '../support/pki';

const example = loadConfig(fileURLToPath(new URL('../../config.example.json', import.meta.url)));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

describe('writeBundledConfig', () => {
  const source = mkdtempSync(join(tmpdir(), 'bundled-config-test-'));
  writeFileSync(join(source, 'acme.pem'), `acme ${PEM}`);
  writeFileSync(join(source, 'east.pem'), `east ${PEM}`);
  const [east, west] = example.clusters as [
    WatchdogConfig['clusters'][number],
    WatchdogConfig['clusters'][number],
  ];
  const config: WatchdogConfig = {
    ...example,
    acme: { ...(example.acme as NonNullable<WatchdogConfig['acme']>), caFile: join(source, 'acme.pem') },
    clusters: [{ ...east, caFile: join(source, 'east.pem') }, west],
  };

  it('writes what loadDeployedConfig reads, PEM files beside it under fixed names', () => {
    const dir = writeBundledConfig(config);
    const document = JSON.parse(readFileSync(join(dir, BUNDLED_CONFIG_FILE), 'utf8'));
    expect(document.marker).toBe(DEPLOYED_CONFIG_MARKER);
    expect(document.config.acme.caFile).toBe('acme-ca.pem');
    expect(document.config.clusters[0].caFile).toBe('cluster-prod-east-ca.pem');
    expect(document.config.clusters[1].caFile).toBeUndefined();
    expect(document.config.$schema).toBeUndefined();
    expect(readFileSync(join(dir, 'acme-ca.pem'), 'utf8')).toBe(`acme ${PEM}`);
    expect(readFileSync(join(dir, 'cluster-prod-east-ca.pem'), 'utf8')).toBe(`east ${PEM}`);

    const deployed = loadDeployedConfig(join(dir, BUNDLED_CONFIG_FILE));
    const { $schema: _, ...rest } = config;
    expect(deployed).toEqual({
      ...rest,
      stateDir: '/tmp/rs-cert-watchdog',
      acme: { ...config.acme, caFile: join(dir, 'acme-ca.pem') },
      clusters: [
        { ...east, caFile: join(dir, 'cluster-prod-east-ca.pem') },
        { ...west, caFile: undefined },
      ],
    });
  });

  it("copies a local CA's certFile beside the config, where the bundle lands in Lambda, and refuses one that is no CA", async () => {
    const lab = await createCa({ commonName: 'Lab CA', keyKind: 'ecdsa' });
    writeFileSync(join(source, 'lab-ca.pem'), lab.certPem);
    const issuer = {
      type: 'local-ca' as const,
      certFile: join(source, 'lab-ca.pem'),
      keySecret: 'lab-ca-key',
      validityDays: 6,
    };
    const withCa: WatchdogConfig = {
      ...config,
      clusters: [{ ...east, certificates: { syncer: { domains: ['s.example.com'], issuer } } }, west],
    };
    const dir = writeBundledConfig(withCa);
    const document = JSON.parse(readFileSync(join(dir, BUNDLED_CONFIG_FILE), 'utf8'));
    // Named relatively: the handler resolves it beside the config, wherever the bundle lands.
    expect(document.config.clusters[0].certificates.syncer.issuer).toEqual({
      ...issuer,
      certFile: 'local-ca-prod-east-syncer.pem',
    });
    expect(readFileSync(join(dir, 'local-ca-prod-east-syncer.pem'), 'utf8')).toBe(lab.certPem);
    expect(
      loadDeployedConfig(join(dir, BUNDLED_CONFIG_FILE)).clusters[0]?.certificates.syncer?.issuer,
    ).toMatchObject({ certFile: join(dir, 'local-ca-prod-east-syncer.pem') });
    // What would fail every renewal on AWS fails synth: PEM markers around something that is no certificate.
    writeFileSync(join(source, 'fake-ca.pem'), PEM);
    expect(() =>
      writeBundledConfig({
        ...withCa,
        clusters: [
          {
            ...east,
            certificates: {
              syncer: {
                domains: ['s.example.com'],
                issuer: { ...issuer, certFile: join(source, 'fake-ca.pem') },
              },
            },
          },
        ],
      }),
    ).toThrow(
      /issuer\.certFile: the local CA certificate file .*fake-ca\.pem: certificate #1 does not parse as X\.509/,
    );
    const missing = {
      ...withCa,
      clusters: [
        {
          ...east,
          certificates: {
            syncer: { domains: ['s.example.com'], issuer: { ...issuer, certFile: join(source, 'no.pem') } },
          },
        },
      ],
    };
    expect(() => writeBundledConfig(missing)).toThrow(
      /clusters\["prod-east"\]\.certificates\.syncer\.issuer\.certFile: .*no\.pem/,
    );
  });

  it('names the field of a PEM file it cannot read', () => {
    const missing = { ...config, clusters: [{ ...east, caFile: join(source, 'nope.pem') }] };
    expect(() => writeBundledConfig(missing)).toThrow(
      /clusters\["prod-east"\]\.caFile: .*nope\.pem does not exist/,
    );
  });

  it('writes a fresh directory each time', () => {
    const a = writeBundledConfig(example);
    const b = writeBundledConfig(example);
    expect(a).not.toBe(b);
    expect(existsSync(join(a, BUNDLED_CONFIG_FILE)) && existsSync(join(b, BUNDLED_CONFIG_FILE))).toBe(true);
  });
});
