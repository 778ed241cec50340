/**
 * The published JSON Schema of `--json` (report.schema.json): generated from the CLI's types and
 * kept current, and every document the bundled executable prints against the simulator (every
 * certificate status, every error shape: a cluster that cannot be read, a certificate that does not
 * parse, a failed renewal, a usage error, a failed run) validates against it, closed: no field is
 * printed that the schema does not name.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedSchema, REPORT_SCHEMA_FILE, reportJsonSchema } from '../../scripts/report-schema';
import { buildCliBundle, type CliBundle } from '../support/cli-bundle';
import { startEveryStatusWorld, writeEveryStatusConfig } from '../support/every-status-fleet';
import type { World } from '../support/world';

type Definition = 'JsonDocument' | 'CheckJsonReport' | 'RenewJsonReport' | 'JsonError';

describe('report.schema.json', () => {
  let published: Record<string, unknown>;
  let validators: Record<Definition, ValidateFunction>;

  beforeAll(async () => {
    published = JSON.parse(await readFile(REPORT_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ allErrors: true, strict: true });
    ajv.addSchema(closedSchema(published) as Record<string, unknown>, 'closed');
    const of = (d: Definition) =>
      ajv.getSchema(d === 'JsonDocument' ? 'closed' : `closed#/definitions/${d}`)!;
    validators = {
      JsonDocument: of('JsonDocument'),
      CheckJsonReport: of('CheckJsonReport'),
      RenewJsonReport: of('RenewJsonReport'),
      JsonError: of('JsonError'),
    };
  });

  it('is generated from the types, committed up to date (npm run schema)', () => {
    expect(published).toEqual(reportJsonSchema());
  }, 120_000);

  it('is open for fields later versions add, and its closed copy refuses a field the types do not name', () => {
    const ajv = new Ajv({ strict: true });
    const open = ajv.compile(published);
    const document = { generatedAt: '2026-01-01T00:00:00.000Z', clusters: [] };
    expect(open({ ...document, addedLater: 1 })).toBe(true);
    expect(validators.CheckJsonReport(document)).toBe(true);
    expect(validators.CheckJsonReport({ ...document, addedLater: 1 })).toBe(false);
    expect(validators.JsonDocument({ generatedAt: 1, clusters: [] })).toBe(false);
  });

  describe('validates what the executable prints', () => {
    let bundle: CliBundle;
    let world: World;
    let config: string;

    beforeAll(async () => {
      [bundle, world] = await Promise.all([buildCliBundle(), startEveryStatusWorld({ pebble: true })]);
      config = await writeEveryStatusConfig(world);
    }, 120_000);
    afterAll(async () => {
      await world?.close();
      await bundle?.close();
    });

    async function printed(definition: Definition, expectedCode: number, ...args: string[]) {
      const run = await bundle.run(world.env, ...args, '--json');
      expect(run.code, run.stderr).toBe(expectedCode);
      const document = JSON.parse(run.stdout) as unknown;
      for (const d of [definition, 'JsonDocument'] as const) {
        const valid = validators[d](document);
        expect(valid ? [] : validators[d].errors, `${args[0]} as ${d}`).toEqual([]);
      }
      return document as Record<string, unknown> & {
        clusters: Array<{ error: unknown; certificates: Array<Record<string, unknown>> }>;
      };
    }

    it('check: every status, a cluster that cannot be read, a certificate that does not parse', async () => {
      const report = await printed('CheckJsonReport', 1, 'check', '--config', config);
      const certificates = report.clusters.flatMap((c) => c.certificates);
      expect(new Set(certificates.map((c) => c.status))).toEqual(
        new Set(['ok', 'expiring', 'expired', 'invalid']),
      );
      expect(report.clusters.some((c) => c.error !== null)).toBe(true);
      expect(certificates.some((c) => c.error !== null)).toBe(true);
      expect(certificates.some((c) => c.managed === true)).toBe(true);
    });

    it('report --json: the same document as check', async () => {
      const report = await printed(
        'CheckJsonReport',
        1,
        'report',
        '--config',
        config,
        '--html',
        join(world.dir, 'r.html'),
      );
      expect(report.clusters).toHaveLength(3);
    });

    it('check with a schedule that cannot keep up: scheduleProblem', async () => {
      const monthly = await writeEveryStatusConfig(world, { aws: { schedule: 'cron(0 6 1 * ? *)' } });
      const report = await printed('CheckJsonReport', 1, 'check', '--config', monthly);
      expect(report.scheduleProblem).toBeDefined();
      await writeEveryStatusConfig(world);
    });

    it('renew --dry-run: the plan and the alerts it would send', async () => {
      const report = await printed('RenewJsonReport', 1, 'renew', '--config', config, '--dry-run');
      expect(report.dryRun).toBe(true);
      expect((report.alerts as unknown[]).length).toBeGreaterThan(0);
    });

    it('renew: renewed, failed and alert-only certificates, and every alert with its severity', async () => {
      world.sims.staging!.injectFault({ kind: 'status', method: 'PUT', status: 400, times: 1 });
      const report = await printed('RenewJsonReport', 1, 'renew', '--config', config);
      const actions = new Set(report.clusters.flatMap((c) => c.certificates.map((cert) => cert.action)));
      for (const action of ['renewed', 'failed', 'alert-only', 'none']) expect(actions).toContain(action);
      const kinds = new Set((report.alerts as Array<{ kind: string }>).map((a) => a.kind));
      for (const kind of ['renewed', 'renewal-failed', 'alert-only', 'cluster-unreachable'])
        expect(kinds).toContain(kind);
    });

    it('errors: a usage error (exit 2) and a run that fails (exit 1) print {name, message, hint}', async () => {
      const usage = await printed(
        'JsonError',
        2,
        'renew',
        '--config',
        config,
        '--force',
        'no-such-certificate',
      );
      expect(usage.name).toBe('ConfigError');
      const broken = await writeEveryStatusConfig(world, { stateDir: join(config, 'state') });
      const failed = await printed('JsonError', 1, 'renew', '--config', broken);
      expect(failed.name).toBe('StateStoreError');
      await writeEveryStatusConfig(world);
    });
  });
});
