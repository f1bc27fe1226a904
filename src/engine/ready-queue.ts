/** A max-heap of ready tasks by priority (longest remaining path first), FIFO among equals. */
export class ReadyQueue<T extends { priority: number }> {
  private readonly heap: Array<{ item: T; seq: number }> = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    this.heap.push({ item, seq: this.seq++ });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      [this.heap[i], this.heap[parent]] = [this.heap[parent], this.heap[i]];
      i = parent;
    }
  }

  /** Removes and returns the best task that `accept` allows (e.g. whose pool has a free slot). */
  /** The item take() would return first. */
  peek(): T | undefined {
    return this.heap[0]?.item;
  }

  take(accept: (item: T) => boolean = () => true): T | undefined {
    if (!this.heap.length) return undefined;
    if (accept(this.heap[0].item)) return this.popAt(0);
    // Rare path (pool saturated): scan in priority order.
    const order = this.heap.map((_, i) => i).sort((a, b) => (this.before(a, b) ? -1 : 1));
    for (const i of order) if (accept(this.heap[i].item)) return this.popAt(i);
    return undefined;
  }

  drain(): T[] {
    const items = this.heap.map((e) => e.item);
    this.heap.length = 0;
    return items;
  }

  private popAt(i: number): T {
    const top = this.heap[i];
    const last = this.heap.pop()!;
    if (i < this.heap.length) {
      this.heap[i] = last;
      this.siftDown(i);
      this.siftUp(i);
    }
    return top.item;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      [this.heap[i], this.heap[parent]] = [this.heap[parent], this.heap[i]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < this.heap.length && this.before(l, best)) best = l;
      if (r < this.heap.length && this.before(r, best)) best = r;
      if (best === i) return;
      [this.heap[i], this.heap[best]] = [this.heap[best], this.heap[i]];
      i = best;
    }
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    return x.item.priority > y.item.priority || (x.item.priority === y.item.priority && x.seq < y.seq);
  }
}
