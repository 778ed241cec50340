// aws-local-stepfunctions 3.0.0 calls Promise.withResolvers (Node 22); Node 20 lacks it.
const promiseCtor = Promise as PromiseConstructor & { withResolvers?: unknown };
promiseCtor.withResolvers ??= <T>() => {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
// aws-sdk-client-mock matchers: expect(mock).toHaveReceivedCommandWith(...)
import { expect } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';

expect.extend(allCustomMatcher);
