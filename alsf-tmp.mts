import { StateMachine } from 'aws-local-stepfunctions';
(Promise as any).withResolvers ??= function () { let a, b; const p = new Promise((r, j) => { a = r; b = j; }); return { promise: p, resolve: a, reject: b }; };
const def = { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:a', Next: 'B', Retry: [{ErrorEquals:['X'], MaxAttempts: 3}], Catch: [{ErrorEquals:['States.ALL'], Next:'F', ResultPath:'$.error'}] }, B: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:a', Next: 'C' }, C: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:a', Next: 'D' }, D: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:a', Next: 'E' }, E: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:a', End: true }, F: { Type: 'Succeed' } } };
const h = async (x: any) => x;
const t = performance.now();
for (let i = 0; i < 2000; i++) {
  const m = new StateMachine(def as any, { validationOptions: { checkPaths: true, checkArn: false } });
  const ex = m.run({ cluster: 'c' + i, items: [{ a: 1 }] } as any, { overrides: { taskResourceLocalHandlers: { A: h, B: h, C: h, D: h, E: h } as any } });
  let n = 0; const logged = (async () => { for await (const e of ex.eventLogs) n++; })();
  await ex.result; await logged;
}
console.log('per execution ms', (performance.now() - t) / 2000);
