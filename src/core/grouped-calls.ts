/**
 * Group commit for calls that cost one round trip each (a database statement, a Redis script):
 * calls made in the same turn go together, and calls made while a group is in flight wait for
 * it and go together as the next group. One caller alone pays no delay; many share round trips.
 */
export class GroupedCalls<In, Out> {
  private waiting: Array<{ input: In; resolve(out: Out): void; reject(err: unknown): void }> = [];
  private draining = false;

  /** `runGroup` answers every input of a group, in order, or throws for all of them. */
  constructor(private readonly runGroup: (inputs: In[]) => Promise<Out[]>) {}

  call(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (this.draining) return;
      this.draining = true;
      queueMicrotask(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length) {
      const group = this.waiting;
      this.waiting = [];
      try {
        const outs = await this.runGroup(group.map((g) => g.input));
        group.forEach((g, i) => g.resolve(outs[i]));
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    this.draining = false;
  }
}
