/**
 * An unbounded async iterable that values are pushed into: the request side of a bidi gRPC call
 * and the answer side of its handler. Written here rather than taken from a library
 * (`it-pushable` is ESM-only, `@repeaterjs/repeater` allocates a promise per push): callers bound
 * what is pushed (one entry per unanswered append), so no back-pressure is needed, and this is on
 * the path of every append.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiting: ((r: IteratorResult<T, undefined>) => void) | undefined;
  private ended = false;

  push(value: T): void {
    if (this.ended) throw new Error('push after end');
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w({ value, done: false });
    } else this.items.push(value);
  }

  /** No more values: iteration ends after the ones already pushed. */
  end(): void {
    this.ended = true;
    const w = this.waiting;
    this.waiting = undefined;
    w?.({ value: undefined, done: true });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private next(): Promise<IteratorResult<T, undefined>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head] as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting) return Promise.reject(new Error('AsyncQueue has one reader'));
    return new Promise((resolve) => (this.waiting = resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return {
      next: () => this.next(),
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
