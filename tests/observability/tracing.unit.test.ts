import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { withSpan, withSpanGenerator } from '@orderflow/platform';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

// The shape of a nice-grpc middleware's `call.next()`: the body runs only when iterated.
// eslint-disable-next-line require-yield
async function* handler(): AsyncGenerator<never, string, undefined> {
  await new Promise((r) => setTimeout(r, 20));
  await withSpan('handler work', {}, async () => Promise.resolve());
  return 'response';
}

describe('withSpanGenerator', () => {
  it('when a generator runs inside it, then its spans are children and the span ends after the generator finished', async () => {
    exporter.reset();
    let result: string | undefined;
    const outer = withSpanGenerator('grpc.server Call', {}, () => handler());
    for (;;) {
      const step = await outer.next();
      if (step.done) {
        result = step.value;
        break;
      }
    }
    expect(result).toBe('response');
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === 'grpc.server Call')!;
    const work = spans.find((s) => s.name === 'handler work')!;
    expect(work.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(work.spanContext().traceId).toBe(server.spanContext().traceId);
    // Spans reach the exporter as they end (SimpleSpanProcessor): the handler's span must end
    // before the server span. (Comparing end timestamps is not reliable below a millisecond.)
    expect(spans.indexOf(work)).toBeLessThan(spans.indexOf(server));
    const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
    expect(ms(server.endTime) - ms(server.startTime)).toBeGreaterThanOrEqual(15);
  });

  it('when the generator throws, then the span is marked failed and the error passes through', async () => {
    exporter.reset();
    // eslint-disable-next-line require-yield
    async function* failing(): AsyncGenerator<never, string, undefined> {
      await Promise.resolve();
      throw new Error('boom');
    }
    const outer = withSpanGenerator('grpc.server Fail', {}, () => failing());
    await expect(outer.next()).rejects.toThrow('boom');
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.status.code])).toEqual([
      ['grpc.server Fail', 2],
    ]);
  });
});
