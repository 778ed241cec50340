/**
 * bin/app.ts with a configuration it cannot deploy: the CLI's message (formatConfigError), exit code
 * 2, no stack trace. Runs the app as `cdk synth` does, in a child process, with the context in
 * CDK_CONTEXT_JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'app-config-errors-'));

function synth(configFile: string) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
    cwd: root,
    env: {
      ...process.env,
      CDK_CONTEXT_JSON: JSON.stringify({ config: configFile }),
      CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'app-config-errors-out-')),
    },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: run.status, stderr: run.stderr, stdout: run.stdout };
}

const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('bin/app.ts refuses a bad configuration as the CLI does', () => {
  it.each([
    ['a missing file', join(dir, 'nope.json'), /^rs-cert-watchdog: .*nope\.json.*\n {2}hint: check the path/],
    [
      'invalid JSON',
      write('broken.json', '{\n  "clusters": [\n}'),
      /^rs-cert-watchdog: .*broken\.json:3:1: not valid JSON/,
    ],
    [
      'a password (deploy refusal)',
      write(
        'password.json',
        JSON.stringify({
          clusters: [
            { name: 'prod-east', endpoint: 'https://127.0.0.1:9443', username: 'admin', password: 'hunter2' },
          ],
        }),
      ),
      /^rs-cert-watchdog: the configuration cannot be deployed:\n {2}clusters\["prod-east"\]\.password: not allowed in AWS mode; use credentialsSecret/,
    ],
    // Issue 18 item 14: a variable of the synth machine means nothing to the Lambda (every order would
    // fail with 401), and the functions run no hook: refused at synth, with the field named.
    ...(['passwordEnv', 'tsigSecretEnv', 'exec'] as const).map((kind) => {
      const dns =
        kind === 'passwordEnv'
          ? {
              provider: 'httpreq',
              endpoint: 'https://dns.example.com',
              username: 'lego',
              passwordEnv: 'DNS_PW',
            }
          : kind === 'tsigSecretEnv'
            ? { provider: 'rfc2136', nameserver: '10.0.0.53:53', tsigKeyName: 'k', tsigSecretEnv: 'TSIG' }
            : { provider: 'exec', command: ['/usr/local/bin/dns-hook'] };
      const field = kind === 'exec' ? 'provider' : kind;
      return [
        `dns ${kind} (deploy refusal)`,
        write(
          `dns-${kind}.json`,
          JSON.stringify({
            acme: { email: 'ops@example.com' },
            clusters: [
              {
                name: 'prod-east',
                endpoint: 'https://127.0.0.1:9443',
                credentialsSecret: 'rs/prod-east',
                certificates: { proxy: { domains: ['*.redis.example.com'], dns } },
              },
            ],
          }),
        ),
        new RegExp(
          `^rs-cert-watchdog: the configuration cannot be deployed:\\n {2}clusters\\[0\\]\\.certificates\\.proxy\\.dns\\.${field}: `,
        ),
      ] as [string, string, RegExp];
    }),
  ])('%s: one clean message on stderr, exit code 2', (_name, configFile, message) => {
    const run = synth(configFile);
    expect(run.stderr).toMatch(message);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stderr).not.toContain('hint: undefined');
    expect(run.stderr).not.toContain('hunter2');
  });
});
