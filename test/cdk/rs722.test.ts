/** The construct's share of RS 7.22+: a run at each maintenance window's opening, and the rollback grant. */
import { fileURLToPath } from 'node:url';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { WatchdogStack } from '../../lib/watchdog-stack';
import { synthesizeWatchdog, TEST_STACK_NAME, testContext } from '../support/synthesized-definition';

const example = loadConfig(fileURLToPath(new URL('../../config.example.json', import.meta.url)));
const saturday = { cron: '0 22 * * 6', durationMinutes: 240, timeZone: 'Europe/Paris' };
const monthly = { cron: '30 3 1 * *', durationMinutes: 60, timeZone: 'America/New_York' };

function withWindows(config: WatchdogConfig): WatchdogConfig {
  const [first, ...rest] = config.clusters;
  return {
    ...config,
    maintenanceWindows: [saturday],
    // A cluster's own window, and one that repeats the global one (scheduled once).
    clusters: [{ ...first!, maintenanceWindows: [monthly, saturday] }, ...rest],
  };
}

describe('maintenance window schedules', () => {
  it('starts a run at the opening of each distinct window, in its time zone', () => {
    const { template } = synthesizeWatchdog(withWindows(example));
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')).map((s) => ({
      expression: s.Properties.ScheduleExpression,
      timeZone: s.Properties.ScheduleExpressionTimezone,
      input: s.Properties.Target.Input,
    }));
    expect(schedules).toEqual(
      expect.arrayContaining([
        { expression: 'cron(0 22 ? * SAT *)', timeZone: 'Europe/Paris', input: '{}' },
        { expression: 'cron(30 3 1 * ? *)', timeZone: 'America/New_York', input: '{}' },
      ]),
    );
    // The configured daily schedule, plus one per distinct window.
    expect(schedules).toHaveLength(3);
  });

  it('has none without windows', () => {
    const { template } = synthesizeWatchdog(example);
    expect(Object.keys(template.findResources('AWS::Scheduler::Schedule'))).toHaveLength(1);
  });

  it('refuses a window that would start runs faster than they finish', () => {
    expect(() =>
      synthesizeWatchdog({
        ...example,
        maintenanceWindows: [{ cron: '*/5 * * * *', durationMinutes: 10, timeZone: 'UTC' }],
      }),
    ).toThrow(/maintenanceWindows "\*\/5 \* \* \* \*" \(UTC\) as .*runs would overlap/);
  });
});

describe('grantRollback', () => {
  it("gives an operator's role exactly: start an execution, and describe its executions", () => {
    const stack = new WatchdogStack(new App({ context: testContext() }), TEST_STACK_NAME, {
      config: example,
    });
    const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    expect(stack.watchdog.grantRollback(operator).success).toBe(true);
    const template = Template.fromStack(stack);
    const roleId = logicalIdOf(operator.node.defaultChild as CfnElement);
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
      .flatMap(
        (p) =>
          p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
      );
    const machineId = logicalIdOf(stack.watchdog.stateMachine.node.defaultChild as CfnElement);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(actions).toEqual(['states:DescribeExecution', 'states:StartExecution']);
    const start = statements.find((s) => s.Action === 'states:StartExecution');
    expect(start?.Resource).toEqual({ Ref: machineId });
    // Describe on this state machine's executions only (arn:…:execution:<name>:*).
    expect(JSON.stringify(statements.find((s) => s.Action === 'states:DescribeExecution')?.Resource)).toMatch(
      /:execution:/,
    );
    expect(JSON.stringify(statements)).not.toMatch(/secretsmanager|kms/);
  });
});
