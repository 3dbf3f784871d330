// Waiting in tests: a plain sleep, and polling a condition with a deadline that fails with
// what was awaited (and, when given, a description of the state) instead of hanging.

import assert from 'node:assert/strict';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every `intervalMs` until it holds; fails after `timeoutMs` naming `what` and, when given, `describe()`. */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  describe?: () => string,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `\n${describe()}` : ''}`);
    await sleep(intervalMs);
  }
}
