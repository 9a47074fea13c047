import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createLogger, withSpan } from '@orderflow/platform';

// A real SDK tracer provider in-process: the logger's mixin must read the active span of the
// async context it is called in.
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();

beforeAll(() => {
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('test', 'info', stream) };
}

describe('log lines and traces', () => {
  it('when a line is written inside a span (also after an await), then it carries that span trace_id and span_id; outside, neither', async () => {
    const { lines, logger } = capture();
    logger.info('before');
    let ids: { traceId: string; spanId: string } | undefined;
    await withSpan('outer', {}, async (span) => {
      ids = span.spanContext();
      logger.info('inside');
      await new Promise((r) => setTimeout(r, 5));
      logger.info({ orderId: 'o-1' }, 'inside after await');
      await withSpan('inner', {}, async (inner) => {
        logger.info({ inner: inner.spanContext().spanId }, 'nested');
        await Promise.resolve();
      });
    });
    logger.info('after');

    expect(lines.map((l) => l['msg'])).toEqual([
      'before',
      'inside',
      'inside after await',
      'nested',
      'after',
    ]);
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[4]).not.toHaveProperty('trace_id');
    for (const l of lines.slice(1, 3))
      expect(l).toMatchObject({ trace_id: ids!.traceId, span_id: ids!.spanId });
    expect(lines[3]).toMatchObject({ trace_id: ids!.traceId, span_id: lines[3]!['inner'] });
    expect(ids!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['inner', 'outer']);
  });

  it('when tracing is off (no provider), then lines carry no all-zero trace ids', async () => {
    trace.disable();
    try {
      const { lines, logger } = capture();
      await withSpan('noop', {}, async () => {
        logger.info('inside a no-op span');
        await Promise.resolve();
      });
      expect(lines[0]).not.toHaveProperty('trace_id');
    } finally {
      trace.setGlobalTracerProvider(provider);
    }
  });
});
