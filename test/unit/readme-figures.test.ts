/** The README's benchmark figures are the bench results: generated blocks, checked here. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blockNames, loadResults, README, renderReadme } from '../../scripts/readme-figures';

describe('README benchmark figures', () => {
  const text = readFileSync(README, 'utf8');

  it('has the generated blocks', () => {
    expect(blockNames(text)).toEqual(
      expect.arrayContaining(['machine', 'targets', 'fleet', 'cli', 'bundles']),
    );
  });

  it('matches bench/results/*.json (run `tsx scripts/readme-figures.ts` after `npm run bench`)', () => {
    expect(renderReadme(text, loadResults())).toBe(text);
  });

  it('renders a changed result into the block', () => {
    const results = loadResults();
    const fleet = results['fleet-check']!;
    const changed = {
      ...results,
      'fleet-check': {
        ...fleet,
        targets: [{ name: 'probe', threshold: '≤ 1', measured: '9.99×', pass: false }],
      },
    };
    expect(renderReadme(text, changed)).toContain('| probe | ≤ 1 | 9.99× | **missed** |');
  });
});
