// A binary min-heap of items by their `due` time (window close, record expiry). Items that
// stop mattering are marked by their owner and skipped when popped, never searched for.

export interface Due {
  readonly due: number;
}

export class TimeHeap<T extends Due> {
  private readonly items: T[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  push(item: T): void {
    const a = this.items;
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.due <= item.due) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = item;
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r]!.due < a[l]!.due ? r : l;
      if (a[c]!.due >= last.due) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
