// One-shot waiters for something that happens again and again (a partition's high watermark
// moving) or once (a connection closing). A parked Fetch waits on every partition it asked
// for and on its connection, and is woken by whichever comes first.
//
// Waiters are removed lazily: a woken or timed-out waiter only marks itself finished, and the
// lists drop it when they next wake or grow. Eager removal from a Set per partition per parked
// Fetch reallocated the Sets' tables thousands of times a second; those tables outlived the
// young generation and forced mark-compact pauses of several milliseconds (measured with
// `npm run bench:latency` and a sampling heap profile of objects promoted then collected).

export interface Waiter {
  /** True once the waiter wants no more wake-ups. */
  readonly finished: boolean;
  wake(): void;
}

export class WaitList {
  private list: Waiter[] = [];
  /** The array the list swaps to while waking, reused so that waking allocates nothing. */
  private spare: Waiter[] | null = [];
  /** Length at which add() first drops finished waiters; grows with the live ones. */
  private compactAt = 64;

  add(w: Waiter): void {
    if (this.list.length >= this.compactAt) this.compact();
    this.list.push(w);
  }

  /** Waiters held, finished ones not yet dropped included. */
  get length(): number {
    return this.list.length;
  }

  /** Wakes every unfinished waiter once and empties the list; waiters added meanwhile wait for the next wake. */
  wakeAll(): void {
    const list = this.list;
    if (list.length === 0) return;
    this.list = this.spare ?? [];
    this.spare = null;
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      if (!w.finished) w.wake();
    }
    list.length = 0;
    this.spare = list;
  }

  private compact(): void {
    const list = this.list;
    let n = 0;
    for (let i = 0; i < list.length; i++) if (!list[i]!.finished) list[n++] = list[i]!;
    list.length = n;
    this.compactAt = Math.max(64, 2 * n);
  }
}
