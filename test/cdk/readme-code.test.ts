/**
 * The README's deployment facts are the code's: the state list and the function timeouts are
 * generated from a synth (scripts/readme-code.ts), and the prose about the state machine names only
 * states the definition has (it once described a `LockHeld` state long gone).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blockNames, deployedExample, README, renderReadme } from '../../scripts/readme-code';

describe('README deployment facts', () => {
  const text = readFileSync(README, 'utf8');
  const deployed = deployedExample();

  it('has the generated blocks', () => {
    expect(blockNames(text)).toEqual(expect.arrayContaining(['states', 'functions']));
  });

  it('matches a synth of config.example.json (run `npm run readme`)', () => {
    expect(renderReadme(text, deployed)).toBe(text);
  });

  it('renders a changed definition and a changed timeout into the blocks', () => {
    const { Done: _done, ...states } = deployed.definition.States;
    const changed = {
      definition: { ...deployed.definition, States: { ...states, LockHeld: { Type: 'Succeed' } } },
      functions: deployed.functions.map((f) => (f.role === 'issue' ? { ...f, timeoutSeconds: 303 } : f)),
    };
    // Reached from nowhere, LockHeld is not listed; Done, gone, is not either.
    const rendered = renderReadme(text, changed);
    expect(rendered).not.toContain('| `Done` | Succeed |');
    expect(text).toContain('| `Done` | Succeed |');
    expect(rendered).toContain('| issue | `lambdas/handlers/issue.ts` | 303 s |');
  });

  it("names only the definition's states where it describes the state machine", () => {
    const section = text.slice(
      text.indexOf('- **An EventBridge Scheduler schedule**'),
      text.indexOf('- **Lambdas**'),
    );
    const states = new Set<string>();
    const collect = (machine: typeof deployed.definition) => {
      for (const [name, state] of Object.entries(machine.States)) {
        states.add(name);
        if (state.ItemProcessor) collect(state.ItemProcessor);
      }
    };
    collect(deployed.definition);
    const named = [...section.matchAll(/`([A-Z][A-Za-z]+)`/g)]
      .map((m) => m[1] as string)
      .filter((name) => !name.endsWith('Error'));
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((name) => !states.has(name))).toEqual([]);
    for (const step of ['Issue', 'Push', 'Verify', 'ActiveActive', 'NotifyRenewed'])
      expect(named).toContain(step);
  });
});
