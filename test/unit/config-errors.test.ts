/**
 * Configuration errors point at the file, line, column and key path, in operator words, and never
 * quote the file: it may hold a password, or be a symlink to a secret.
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConfigError, loadConfig, locateJson } from '../../lambdas/adapters/config-file';
import { readPemFile } from '../../lambdas/adapters/config-file/pem';
import { nearest } from '../../lambdas/domain/config/schema';
import { ConfigError } from '../../lambdas/domain/errors';
import { containsUserInfoUrl, hasUserInfo, redactUrl, redactUrlsIn } from '../../lambdas/domain/redact';

const SECRET = 'Pa55-w0rd-XYZ';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-errors-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function failure(text: string, name = 'config.json'): Promise<ConfigError> {
  const path = join(dir, name);
  await writeFile(path, text);
  try {
    loadConfig(path);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('the configuration was accepted');
}

const cluster = (extra: string) =>
  `{\n  "clusters": [\n    {\n      "name": "prod-east",\n      "endpoint": "https://cluster.example.com:9443",\n      "username": "admin",\n${extra}\n    }\n  ]\n}\n`;

describe('JSON syntax errors', () => {
  it.each([
    [
      'a missing comma after a password',
      cluster(`      "password": "${SECRET}"\n      "caFile": "ca.pem"`),
      8,
      7,
      /expected "," or "}"/,
    ],
    ['a trailing comma', cluster(`      "password": "${SECRET}",`), 8, 5, /trailing comma before "}"/],
    ['single quotes', cluster(`      'password': '${SECRET}'`), 7, 7, /single-quoted key/],
    [
      'a string never closed',
      cluster(`      "password": "${SECRET}`),
      7,
      33,
      /line break or control character inside a string/,
    ],
    ['a truncated file', `{"clusters": [{"password": "${SECRET}"`, 1, 43, /the file ends here/],
    ['text after the document', `{"password": "${SECRET}"} ${SECRET}`, 1, 31, /more text after the end/],
    ['a byte-order mark', `\ufeff{"a": "${SECRET}"}`, 1, 1, /byte-order mark/],
    ['an empty file', '', 1, 1, /expected a value.*the file ends here/],
  ])('%s: line and column, never the text', async (_name, text, line, column, problem) => {
    const error = await failure(text);
    expect(error.message).toMatch(new RegExp(`config\\.json:${line}:${column}: not valid JSON: `));
    expect(error.message).toMatch(problem);
    expect(`${error.message} ${error.hint}`).not.toContain(SECRET.slice(0, 4));
    expect(`${error.message} ${error.hint}`).not.toContain('password');
  });

  it('accepts exactly what JSON.parse accepts on valid documents', () => {
    for (const value of [
      {},
      [],
      { a: [1, -2.5e3, true, false, null, 'x\\"\u00e9\n'], b: { c: {} } },
      'text',
      0,
      { 'key with "quotes"': '\u2028' },
    ]) {
      const text = JSON.stringify(value, null, 2);
      expect(locateJson(text).syntax).toBeNull();
    }
  });

  it('locates key paths for schema errors', () => {
    const located = locateJson(
      '{\n  "clusters": [\n    {"name": "a"},\n    {\n      "endpoint": 1\n    }\n  ]\n}',
    );
    expect(located.at(['clusters', 1, 'endpoint'])).toEqual({ line: 5, column: 7 });
    expect(located.at(['clusters', 0])).toEqual({ line: 3, column: 5 });
    // A missing key points at the object that should hold it.
    expect(located.at(['clusters', 1, 'username'])).toEqual({ line: 4, column: 5 });
  });
});

describe('schema errors', () => {
  it('give file:line:column, the key path and a suggestion for a mistyped key, without quoting values', async () => {
    const error = await failure(cluster(`      "pasword": "${SECRET}"`));
    expect(error.message).toMatch(
      /config\.json:7:7: clusters\[0\]\.pasword: unknown key; did you mean "password"\?/,
    );
    expect(error.message).not.toContain(SECRET);
  });

  it('say what a value must be without quoting it', async () => {
    const error = await failure(
      `{"renewBeforeDays": "${SECRET}", "clusters": [{"name": "a", "endpoint": "https://a.example.com", "username": "u", "password": 7}]}`,
    );
    expect(error.message).toMatch(/config\.json:1:2: renewBeforeDays: must be a number \(it is a string\)/);
    expect(error.message).toMatch(/clusters\[0\]\.password: must be a string \(it is a whole number\)/);
    expect(error.message).not.toContain(SECRET);
  });

  it('word an empty document for an operator', async () => {
    const error = await failure('{}');
    expect(error.message).toBe(
      `invalid configuration (${join(dir, 'config.json')}):\n  ${join(dir, 'config.json')}:1:1: clusters: is required: list the clusters to watch (see config.example.json)`,
    );
    expect(error.message).not.toMatch(/Invalid input|expected array|received undefined/);
    expect(error.hint).toMatch(/config\.example\.json/);
  });

  it.each([
    [
      'a cluster endpoint',
      { endpoint: `https://admin:${SECRET}@cluster.example.com:9443` },
      'clusters[0].endpoint',
    ],
    [
      'the httpreq endpoint',
      { dns: { provider: 'httpreq', endpoint: `http://lego:${SECRET}@dns.example.com` } },
      'dns.endpoint',
    ],
    [
      'the Slack webhook',
      { alerts: { slackWebhookUrl: `https://u:${SECRET}@hooks.slack.com/x` } },
      'alerts.slackWebhookUrl',
    ],
    [
      'a user name only',
      { acme: { email: 'a@example.com', directoryUrl: 'https://someone@acme.example.com/dir' } },
      'acme.directoryUrl',
    ],
    ['an unknown key', { notes: `see ftp://ops:${SECRET}@files.example.com` }, null],
  ])(
    'refuse a URL with credentials in %s, pointing to passwordEnv, never printing it',
    async (_name, extra, path) => {
      const base = {
        clusters: [{ name: 'a', endpoint: 'https://a.example.com:9443', username: 'u', passwordEnv: 'P' }],
      };
      const document =
        'endpoint' in extra ? { clusters: [{ ...base.clusters[0], ...extra }] } : { ...base, ...extra };
      const error = await failure(JSON.stringify(document, null, 2));
      if (path)
        expect(error.message).toContain(`${path}: is or holds a URL with a user name or password in it`);
      expect(error.message).toMatch(/passwordEnv/);
      expect(`${error.message} ${error.hint}`).not.toContain(SECRET);
    },
  );
});

describe('unreadable files', () => {
  it('say which file and what to do for ENOENT and EISDIR', async () => {
    expect(() => loadConfig(join(dir, 'absent.json'))).toThrow(
      /the configuration file .*absent\.json does not exist/,
    );
    try {
      loadConfig(dir);
    } catch (error) {
      expect((error as ConfigError).message).toMatch(/is a directory, not a file/);
      expect((error as ConfigError).hint).toMatch(/path of the file itself/);
    }
    expect(() => readPemFile(join(dir, 'ca.pem'), 'clusters[0].caFile')).toThrow(
      /clusters\[0\]\.caFile: .*ca\.pem does not exist/,
    );
  });

  it('never quote the target of a symlinked config', async () => {
    const secret = join(dir, 'secret.txt');
    await writeFile(secret, `${SECRET}\n`);
    const link = join(dir, 'link.json');
    await symlink(secret, link);
    const error = (() => {
      try {
        loadConfig(link);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(error.message).toMatch(/link\.json:1:1: not valid JSON/);
    expect(formatConfigError(error)).not.toContain(SECRET.slice(0, 3));
  });
});

describe('formatConfigError (CLI and cdk synth)', () => {
  it('prints the message and the hint, never "hint: undefined" or a stack', () => {
    expect(formatConfigError(new ConfigError('bad', { hint: 'fix it' }))).toBe(
      'rs-cert-watchdog: bad\n  hint: fix it',
    );
    expect(formatConfigError(new ConfigError('bad'))).toBe('rs-cert-watchdog: bad');
  });
});

describe('URLs in messages', () => {
  it('are printed without user information', () => {
    expect(redactUrl(`https://admin:${SECRET}@cluster.example.com:9443/v1`)).toBe(
      'https://cluster.example.com:9443/v1',
    );
    expect(redactUrlsIn(`GET https://admin:${SECRET}@a.example.com/x failed`)).toBe(
      'GET https://a.example.com/x failed',
    );
    expect(hasUserInfo('https://a.example.com')).toBe(false);
    expect(hasUserInfo('https://u@a.example.com')).toBe(true);
    expect(hasUserInfo('not a url u:p@x')).toBe(false);
    expect(containsUserInfoUrl('see ftp://ops:pw@files.example.com')).toBe(true);
    expect(containsUserInfoUrl('mail ops@example.com, https://example.com/?to=a@b')).toBe(false);
  });

  it('suggest the nearest known key', () => {
    expect(nearest('renewBeforDays', ['renewBeforeDays', 'stateDir'])).toBe('renewBeforeDays');
    expect(nearest('pasword', ['password', 'passwordEnv'])).toBe('password');
    expect(nearest('colour', ['renewBeforeDays', 'stateDir'])).toBeUndefined();
  });
});
