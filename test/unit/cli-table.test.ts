import { describe, expect, it } from 'vitest';
import { renderAlerts, renderReport } from '../../lambdas/cli/table';
import { forTerminal, wrap } from '../../lambdas/cli/terminal';
import type { CertificateReport, FleetReport } from '../../lambdas/domain/report';

const base: CertificateReport = {
  name: 'proxy',
  status: 'expiring',
  action: 'none',
  managed: true,
  notBefore: '2026-08-30T01:34:00.000Z',
  notAfter: '2026-11-28T01:34:00.000Z',
  renewalTime: '2026-10-29T05:34:00.000Z',
  daysLeft: 4.5,
  subject: 'CN=*.redis.example.com',
  dnsNames: ['*.redis.example.com'],
  issuer: "CN=R11, O=Let's Encrypt, C=US",
  serialNumber: '01',
  fingerprint256: 'AA',
  keyType: 'rsa',
  keySize: 2048,
  keyMatches: true,
  chainLength: 2,
  error: null,
  plan: 'renew',
};

function renewReport(certificates: CertificateReport[], dryRun = false): FleetReport & { dryRun: boolean } {
  return {
    generatedAt: '2026-11-23T13:34:00.000Z',
    dryRun,
    clusters: [{ name: 'prod-east', error: null, certificates }],
  };
}

const rowOf = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`  ${name} `)) ?? '';

describe('the renew table', () => {
  it('shows the new expiry on a renewed row, and the decision apart from the outcome', () => {
    const text = renderReport(
      renewReport([
        {
          ...base,
          action: 'renewed',
          renewed: { notAfter: '2027-02-21T13:34:00.000Z', serialNumber: '0A', fingerprint256: 'BB' },
        },
        { ...base, name: 'api', status: 'ok', daysLeft: 40, plan: 'renew' },
        {
          ...base,
          name: 'cm',
          action: 'skipped',
          skipped: 'another run (pid 42) holds the lock until 14:00Z',
        },
        {
          ...base,
          name: 'syncer',
          managed: false,
          status: 'expired',
          daysLeft: -2,
          action: 'alert-only',
          plan: 'alert-only',
        },
        { ...base, name: 'ldap_client', status: 'ok', daysLeft: 300, plan: 'none' },
        {
          ...base,
          name: 'metrics_exporter',
          action: 'failed',
          error: { name: 'AcmeError', message: 'order invalid' },
        },
      ]),
      { force: ['api'] },
    );
    expect(text).toMatch(/CERTIFICATE\s+STATUS\s+DAYS\s+NOT AFTER\s+RENEW AT\s+DECISION\s+OUTCOME/);
    const proxy = rowOf(text, 'proxy');
    expect(proxy).toContain('2027-02-21 13:34Z');
    expect(proxy).not.toContain('2026-11-28');
    expect(proxy).toMatch(/^ {2}proxy\s+ok\s+90\.0\s/);
    expect(proxy).toMatch(/\sdue\s+renewed\s/);
    expect(text).toMatch(
      /proxy: renewed, now valid until 2027-02-21 13:34Z \(was 2026-11-28 01:34Z; serial 0A\)/,
    );
    expect(rowOf(text, 'api')).toMatch(/\sforced\s+-\s/);
    expect(rowOf(text, 'cm')).toMatch(/\sdue\s+skipped\s/);
    expect(text).toMatch(/cm: skipped: another run \(pid 42\) holds the lock until 14:00Z/);
    expect(rowOf(text, 'syncer')).toMatch(/\swatch\s+alerted\s/);
    expect(rowOf(text, 'ldap_client')).toMatch(/\swait\s+-\s/);
    expect(rowOf(text, 'metrics_exporter')).toMatch(/\sdue\s+failed\s/);
  });

  it('explains a resumed renewal in the dry-run plan', () => {
    const text = renderReport(renewReport([{ ...base, status: 'ok', daysLeft: 89 }], true));
    expect(rowOf(text, 'proxy')).toMatch(/\sresume\s+would renew/);
    expect(text).toMatch(/proxy: would finish the renewal an earlier run pushed and never verified/);
  });

  it('escapes control characters from the cluster in every cell and message', () => {
    const evil = 'name\u001b]0;owned\u0007\u009b2J\u202e\r\nfake  row';
    const text = renderReport(
      renewReport([
        {
          ...base,
          name: evil,
          dnsNames: [`a${evil}.example.com`],
          issuer: `CN=${evil}`,
          error: { name: 'ClusterServerError', message: `body: ${evil}`, hint: evil },
          action: 'failed',
        },
      ]),
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(text).toContain('name\\x1b]0;owned\\x07\\x9b2J\\u202e\\r\\nfake  row');
    expect(text.split('\n').filter((l) => l.startsWith('fake'))).toEqual([]);
    const alerts = renderAlerts(
      [{ kind: 'cluster-unreachable', cluster: 'prod-east', error: { name: 'X', message: evil } }],
      false,
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    expect(alerts).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});

describe('terminal helpers', () => {
  it('escapes every class of invisible or controlling character visibly', () => {
    expect(forTerminal('a\u0000b\u0007c\u001bd\re\nf\tg\u007fh\u0085i\u202ej\u2066k\u200bl\ufeffm')).toBe(
      'a\\0b\\x07c\\x1bd\\re\\nf\\tg\\x7fh\\x85i\\u202ej\\u2066k\\u200bl\\ufeffm',
    );
    expect(forTerminal('plain *.example.com — ünïcode')).toBe('plain *.example.com — ünïcode');
  });

  it('wraps to the width, cutting words longer than a line', () => {
    for (const width of [10, 20, 33]) {
      const lines = wrap(`  ${'word '.repeat(20)}${'x'.repeat(50)}`, width);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
      expect(lines.join('').replace(/\s/g, '')).toBe(`${'word'.repeat(20)}${'x'.repeat(50)}`);
    }
  });
});

describe('the renderer sanitises every cell and line itself', () => {
  // ESC sequences (clear screen, OSC 8 hyperlink hiding its target), BEL, CR, a newline that forges
  // a row, C1 controls, a bidi override: in every field a report carries from outside.
  const HOSTILE =
    '\u001b[2J\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007\r\n  proxy  ok  999.0\u009b\u202e';
  const report: FleetReport = {
    generatedAt: '2026-11-23T13:34:00.000Z',
    clusters: [
      {
        name: `prod${HOSTILE}`,
        error: null,
        softwareVersions: [`7.22.2${HOSTILE}`],
        pushApi: 'certificates',
        certificates: [
          {
            ...base,
            name: `proxy${HOSTILE}`,
            dnsNames: [`a${HOSTILE}.example.com`],
            issuer: `CN=CA${HOSTILE}`,
            error: { name: `Err${HOSTILE}`, message: `msg${HOSTILE}`, hint: `hint${HOSTILE}` },
            renewalInfo: {
              certId: 'x.y',
              start: '2026-11-20T00:00:00.000Z',
              end: '2026-11-21T00:00:00.000Z',
              explanationURL: `https://ca.example/why${HOSTILE}`,
              renewAt: '2026-11-20T12:00:00.000Z',
              nextFetchAt: '2026-11-23T19:34:00.000Z',
            },
            renewalInfoError: {
              name: 'RenewalInfoError',
              message: `renewalInfo answered 500 (serverInternal: ${HOSTILE})`,
            },
            profile: `tls${HOSTILE}`,
            warnings: [`w${HOSTILE}`],
            skipped: `held${HOSTILE}`,
            action: 'skipped',
          },
        ],
      },
    ],
  };

  it.each([undefined, 200, 100, 60, 30])(
    'at width %s: no control or bidi character reaches the terminal, no row is forged',
    (width) => {
      for (const dryRun of [undefined, false, true]) {
        const text = renderReport(dryRun === undefined ? report : { ...report, dryRun }, { width });
        // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
        expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
        for (const line of text.split('\n')) expect(line).not.toMatch(/^\s*proxy\s+ok\s+999\.0/);
        if (width === undefined) {
          // Shown, escaped: the operator still sees what the CA sent.
          expect(text).toContain('\\x1b]8;;https://evil.example/\\x07click');
          expect(text).toContain('renewalInfo answered 500 (serverInternal: \\x1b[2J');
        }
        if (width !== undefined)
          for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(width);
      }
    },
  );
});
