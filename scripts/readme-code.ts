/**
 * The README's facts about the deployment, generated from the code so they cannot drift: every
 * block between `<!-- code:NAME -->` and `<!-- /code -->` is rewritten from a synth of
 * config.example.json (the state machine's states, the functions' timeouts and memory) and from
 * lambdas/domain/retry.ts.
 *
 *   tsx scripts/readme-code.ts          rewrites README.md
 *   tsx scripts/readme-code.ts --check  exits 1 when README.md differs from the code
 *
 * test/cdk/readme-code.test.ts runs the check in `npm test`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CfnElement } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { loadConfig } from '../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { type STEP_TIMEOUT_MS, TRANSIENT_LAMBDA_RETRY } from '../lambdas/domain/retry';
import { logicalIdOf } from '../lib/certificate-watchdog';
import { STATE_NAMES } from '../lib/workflow';
import {
  type AslState,
  type AslStateMachine,
  definitionOf,
  type FunctionRole,
  synthesizeWatchdog,
  testFunctionArn,
} from '../test/support/synthesized-definition';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
export const README = join(REPO, 'README.md');

export interface Deployed {
  definition: AslStateMachine;
  functions: Array<{ role: FunctionRole; entry: string; timeoutSeconds: number; memoryMb: number }>;
}

/** What the example config deploys (a synth without bundling). */
export function deployedExample(
  config: WatchdogConfig = loadConfig(join(REPO, 'config.example.json')),
): Deployed {
  const synth = synthesizeWatchdog(config);
  const resources = synth.template.toJSON().Resources as Record<
    string,
    { Properties: { Description: string; Timeout: number; MemorySize: number } }
  >;
  const functions = (Object.entries(synth.stack.watchdog.functions) as [FunctionRole, NodejsFunction][]).map(
    ([role, fn]) => {
      const p = resources[logicalIdOf(fn.node.defaultChild as CfnElement)]?.Properties;
      const [, name, file] = /^rs-cert-watchdog (\S+)(?: \((\S+)\))?$/.exec(p?.Description ?? '') ?? [];
      return {
        role,
        entry: `lambdas/handlers/${file ?? `${name}.ts`}`,
        timeoutSeconds: Number(p?.Timeout),
        memoryMb: Number(p?.MemorySize),
      };
    },
  );
  return { definition: definitionOf(synth), functions };
}

/** Why each step's timeout is what it is (the numbers come from the template). */
const TIMEOUT_REASONS: Record<keyof typeof STEP_TIMEOUT_MS, string> = {
  check:
    'a fixed bound: one shard’s clusters (`aws.checkShards.clustersPerShard`) read side by side; Gather and PlanRollback read and write S3 objects only',
  migrateState: 'a fixed bound: it stops a minute before it and is retried, moving what is left',
  issue:
    'one DNS propagation wait, the ACME order attempts with their request timeouts and Retry-After waits, the CA’s polling, the AWS calls',
  push: 'a fixed bound: one PUT; a 409 is retried by the state machine, not inside the function',
  verify: 'a fixed bound: the cluster read and the endpoint probes',
  activeActive: 'every Active-Active database’s update task polled to its end, plus the AWS calls',
  notify:
    'its failure path re-reads the cluster (two GETs at their worst) and probes the nodes, plus the AWS calls',
};

const code = (s: string) => `\`${s}\``;

function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

function retries(state: AslState): string {
  const transient = [...TRANSIENT_LAMBDA_RETRY.errors].sort().join();
  return (state.Retry ?? [])
    .map((r) =>
      [...r.ErrorEquals].sort().join() === transient
        ? `Lambda service errors ×${r.MaxAttempts}`
        : `${r.ErrorEquals.map(code).join(', ')} ×${r.MaxAttempts}`,
    )
    .join('; ');
}

/**
 * The config fields behind each Distributed Map's numbers (the definition holds the numbers, not
 * where they come from).
 */
const MAP_SETTINGS: Record<string, { batch?: string; concurrency: string }> = {
  [STATE_NAMES.checkFleet]: {
    batch: 'aws.checkShards.clustersPerShard',
    concurrency: 'aws.checkShards.concurrency',
  },
  [STATE_NAMES.renewDue]: { concurrency: 'aws.mapConcurrency' },
};

/** Where a Distributed Map's ItemReader reads: a fixed object, or one the state names. */
function itemSource(state: AslState): string {
  const reader = state.ItemReader as { Parameters?: Record<string, string> } | undefined;
  const p = reader?.Parameters ?? {};
  const part = (field: 'Bucket' | 'Key') => p[`${field}.$`] ?? p[field];
  if (p.Key !== undefined) return `the object ${code(p.Key)}`;
  return `the object at ${code(String(part('Bucket')))}/${code(String(part('Key')))}`;
}

function mapKind(name: string, state: AslState): string {
  const settings = MAP_SETTINGS[name];
  const from = (field: string | undefined) => (field ? ` (${code(field)})` : '');
  const processor = state.ItemProcessor?.ProcessorConfig as
    | { Mode?: string; ExecutionType?: string }
    | undefined;
  if (processor?.Mode !== 'DISTRIBUTED')
    return `Map over ${code(String(state.ItemsPath))}, ${state.MaxConcurrency ?? 'unbounded'} at once${from(settings?.concurrency)}`;
  const batcher = state.ItemBatcher as { MaxItemsPerBatch?: number } | undefined;
  const writer = state.ResultWriter as { Parameters?: { Prefix?: string } } | undefined;
  const execution = (processor.ExecutionType ?? 'STANDARD').toLowerCase();
  return [
    `Distributed Map over ${itemSource(state)}`,
    batcher?.MaxItemsPerBatch
      ? `batches of ${batcher.MaxItemsPerBatch}${from(settings?.batch)}`
      : 'one item per child',
    `${state.MaxConcurrency ?? 'unbounded'} ${execution === 'express' ? 'Express' : 'Standard'} child executions at once${from(settings?.concurrency)}`,
    state.ToleratedFailurePercentage !== undefined
      ? `${state.ToleratedFailurePercentage} % failures tolerated`
      : 'no failure tolerated',
    ...(writer?.Parameters?.Prefix ? [`results to ${code(writer.Parameters.Prefix)}`] : []),
  ].join(', ');
}

function kind(name: string, state: AslState, roleOf: Map<string, string>): string {
  if (state.Type === 'Task') return `Task: ${roleOf.get(state.Resource ?? '') ?? state.Resource}`;
  if (state.Type === 'Map') return mapKind(name, state);
  return state.Type;
}

/** A Choice rule as the table shows it. */
function condition(rule: Record<string, unknown>): string {
  const variable = String(rule.Variable);
  if (rule.IsPresent !== undefined) return `${variable} ${rule.IsPresent ? 'is present' : 'is absent'}`;
  return `${variable} == ${JSON.stringify(rule.BooleanEquals)}`;
}

function next(state: AslState): string {
  if (state.Type === 'Choice') {
    const choices = (state.Choices ?? []).map((c) => `${code(String(c.Next))} when ${code(condition(c))}`);
    return [...choices, `else ${code(String(state.Default))}`].join(', ');
  }
  if (state.End || state.Type === 'Succeed' || state.Type === 'Fail') return 'end';
  return state.Next ? code(state.Next) : 'end';
}

function onError(state: AslState): string {
  return (state.Catch ?? [])
    .map(
      (c) =>
        `${c.ErrorEquals.includes('States.ALL') ? 'any error' : c.ErrorEquals.join(', ')} → ${code(c.Next)}`,
    )
    .join('; ');
}

/**
 * The states in the order an execution can reach them: the usual way first (a Choice's Default
 * before its rules; a state its branches share after all of them, by the longest path of Next,
 * Default and Choices from the start), then the states only a Catch reaches, each Map's item
 * processor after the Map.
 */
function stateRows(machine: AslStateMachine, roleOf: Map<string, string>, depth = 0): string[][] {
  const known = (n: string | undefined): n is string => n !== undefined && machine.States[n] !== undefined;
  const flow = (state: AslState): string[] =>
    [state.Default, ...(state.Choices ?? []).map((c) => String(c.Next)), state.Next].filter(known);
  const successors = (state: AslState) => [
    ...flow(state),
    ...(state.Catch ?? []).map((c) => c.Next).filter(known),
  ];
  const order: string[] = [];
  const visit = (name: string | undefined) => {
    if (!name || order.includes(name) || !machine.States[name]) return;
    order.push(name);
    for (const n of successors(machine.States[name] as AslState)) visit(n);
  };
  visit(machine.StartAt);
  // Longest flow path from the start (the definition has no loops); states only a Catch reaches have none.
  const level = new Map<string, number>([[machine.StartAt, 0]]);
  for (let changed = true, rounds = 0; changed && rounds <= order.length; rounds++) {
    changed = false;
    for (const name of order) {
      const from = level.get(name);
      if (from === undefined) continue;
      for (const n of flow(machine.States[name] as AslState))
        if (from + 1 > (level.get(n) ?? -1)) {
          level.set(n, from + 1);
          changed = true;
        }
    }
  }
  const rank = (name: string) => level.get(name) ?? Number.POSITIVE_INFINITY;
  const ranked = [...order].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra === rb ? order.indexOf(a) - order.indexOf(b) : ra < rb ? -1 : 1;
  });
  return ranked.flatMap((name) => {
    const state = machine.States[name] as AslState;
    const row = [
      `${depth ? '↳ ' : ''}${code(name)}`,
      kind(name, state, roleOf),
      next(state),
      retries(state) || '–',
      onError(state) || '–',
    ];
    return [row, ...(state.ItemProcessor ? stateRows(state.ItemProcessor, roleOf, depth + 1) : [])];
  });
}

const RENDERERS: Record<string, (d: Deployed) => string> = {
  states: (d) => {
    const roleOf = new Map(d.functions.map((f) => [testFunctionArn(f.role), `${f.role} function`]));
    return table(['State', 'Type', 'Next', 'Retry', 'On error'], stateRows(d.definition, roleOf));
  },
  functions: (d) =>
    table(
      ['Function', 'Handler', 'Timeout', 'Memory', 'Why that timeout'],
      d.functions.map((f) => [
        f.role,
        code(f.entry),
        `${f.timeoutSeconds} s`,
        `${f.memoryMb} MB`,
        TIMEOUT_REASONS[f.role as keyof typeof STEP_TIMEOUT_MS] ?? 'posts one message',
      ]),
    ),
};

const BLOCK = /<!-- code:([a-z-]+) -->\n[\s\S]*?<!-- \/code -->/g;

/** The README with every code block rendered. Unknown block names are an error. */
export function renderReadme(text: string, deployed: Deployed): string {
  return text.replace(BLOCK, (_, name: string) => {
    const render = RENDERERS[name];
    if (!render) throw new Error(`README.md: unknown code block "${name}"`);
    return `<!-- code:${name} -->\n${render(deployed)}\n<!-- /code -->`;
  });
}

export function blockNames(text: string): string[] {
  return [...text.matchAll(BLOCK)].map((m) => m[1] as string);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const text = readFileSync(README, 'utf8');
  const rendered = renderReadme(text, deployedExample());
  if (process.argv.includes('--check')) {
    if (rendered !== text) {
      process.stderr.write('README.md code blocks differ from the code: run `npm run readme`\n');
      process.exit(1);
    }
  } else if (rendered !== text) {
    writeFileSync(README, rendered);
    process.stdout.write(`README.md: ${blockNames(text).length} code blocks rewritten\n`);
  }
}
