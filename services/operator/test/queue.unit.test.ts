import { ReconcileQueue } from '../src/queue';

// Fake timers: the queue's delays and backoff are asserted against the fake clock, so the test
// neither sleeps nor depends on how busy the machine is.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ReconcileQueue', () => {
  it('when a key is enqueued while it runs, then the runs never overlap and one more run follows', async () => {
    let running = 0;
    let maxRunning = 0;
    const runs: string[] = [];
    const queue = new ReconcileQueue(
      async (key) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        runs.push(key);
        await sleep(30);
        running -= 1;
      },
      { baseDelayMs: 10, maxDelayMs: 100 },
    );
    queue.enqueue('ns/a');
    await jest.advanceTimersByTimeAsync(5);
    queue.enqueue('ns/a');
    queue.enqueue('ns/a');
    await jest.advanceTimersByTimeAsync(100);
    await queue.drain();
    expect(maxRunning).toBe(1);
    expect(runs).toEqual(['ns/a', 'ns/a']);
    await queue.stop();
  });

  it('when two keys are enqueued, then they run side by side', async () => {
    let running = 0;
    let maxRunning = 0;
    const queue = new ReconcileQueue(
      async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await sleep(30);
        running -= 1;
      },
      { baseDelayMs: 10, maxDelayMs: 100 },
    );
    queue.enqueue('ns/a');
    queue.enqueue('ns/b');
    await jest.advanceTimersByTimeAsync(10);
    expect(maxRunning).toBe(2);
    await jest.advanceTimersByTimeAsync(30);
    await queue.stop();
  });

  it('when a reconcile keeps failing, then it is retried with exponential backoff capped at the maximum', async () => {
    const at: number[] = [];
    const delays: number[] = [];
    const queue = new ReconcileQueue(
      () => {
        at.push(Date.now());
        return Promise.reject(new Error('boom'));
      },
      {
        baseDelayMs: 20,
        maxDelayMs: 80,
        onError: (_key, _err, retryInMs) => delays.push(retryInMs),
      },
    );
    queue.enqueue('ns/a');
    await jest.advanceTimersByTimeAsync(300);
    await queue.stop();
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80]);
    expect(at.slice(0, 5).map((t) => t - at[0]!)).toEqual([0, 20, 60, 140, 220]);
  });

  it('when a failing reconcile succeeds, then the failure count resets', async () => {
    let calls = 0;
    const queue = new ReconcileQueue(
      () => {
        calls += 1;
        return calls < 3 ? Promise.reject(new Error('transient')) : Promise.resolve();
      },
      { baseDelayMs: 5, maxDelayMs: 50 },
    );
    queue.enqueue('ns/a');
    await jest.advanceTimersByTimeAsync(60);
    expect(calls).toBe(3);
    expect(queue.failuresOf('ns/a')).toBe(0);
    await queue.stop();
  });
});
