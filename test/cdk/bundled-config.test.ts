import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_CONFIG_MARKER, loadDeployedConfig, type WatchdogConfig } from '../../lambdas/domain/config';
import { loadConfig } from '../../lambdas/domain/config-schema';
import {
  BUNDLED_CONFIG_FILE,
  defaultHeartbeatWindow,
  heartbeatEvaluation,
  writeBundledConfig,
} from '../../lib/certificate-watchdog';

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

  it('names the field of a PEM file it cannot read', () => {
    const missing = { ...config, clusters: [{ ...east, caFile: join(source, 'nope.pem') }] };
    expect(() => writeBundledConfig(missing)).toThrow(
      /clusters\["prod-east"\]\.caFile: cannot read .*nope\.pem: ENOENT/,
    );
  });

  it('writes a fresh directory each time', () => {
    const a = writeBundledConfig(example);
    const b = writeBundledConfig(example);
    expect(a).not.toBe(b);
    expect(existsSync(join(a, BUNDLED_CONFIG_FILE)) && existsSync(join(b, BUNDLED_CONFIG_FILE))).toBe(true);
  });
});

describe('dead man’s switch', () => {
  it.each([
    ['rate(1 day)', 2 * 86_400],
    ['rate(6 hours)', 12 * 3_600],
    ['rate(30 minutes)', 3_600],
    ['rate(1 minute)', 120],
    ['cron(0 6 * * ? *)', 2 * 86_400],
    ['cron(0 6 ? * MON-FRI *)', 2 * 86_400],
  ])('watches %s over %i seconds', (schedule, seconds) => {
    expect(defaultHeartbeatWindow(schedule).toSeconds()).toBe(seconds);
  });

  it.each([
    [Duration.hours(12), 43_200, 1],
    [Duration.minutes(10), 600, 1],
    [Duration.seconds(90), 120, 1],
    [Duration.days(1), 86_400, 1],
    [Duration.days(2), 86_400, 2],
    [Duration.hours(60), 86_400, 3],
    [Duration.days(7), 86_400, 7],
  ])('evaluates %s as periods of %i seconds, %i of them', (window, period, evaluationPeriods) => {
    const evaluation = heartbeatEvaluation(window);
    expect(evaluation.period.toSeconds()).toBe(period);
    expect(evaluation.evaluationPeriods).toBe(evaluationPeriods);
  });

  it('refuses windows longer than CloudWatch evaluates', () => {
    expect(() => heartbeatEvaluation(defaultHeartbeatWindow('rate(4 days)'))).toThrow(
      /longer than the 7 days a CloudWatch alarm can evaluate/,
    );
  });
});
