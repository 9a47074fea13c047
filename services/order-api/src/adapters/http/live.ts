import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { counter, gauge, type Logger, type Registry } from '@orderflow/platform';
import {
  openOrderFeed,
  sweepFollowers,
  type FeedSink,
  type FollowPorts,
  type OrderFollower,
} from '../../application/follow-order';
import type { Principal } from '../../domain/auth';
import { SSE_HEARTBEAT, SSE_RETRY_MS, sseMessage } from '../../domain/live';
import { fail } from '../../domain/problems';

export interface LiveLimits {
  /** Live streams one instance serves at once; more answer 503 with Retry-After. */
  maxStreams: number;
  /** A heartbeat comment to every stream, and the sweep, this often. */
  heartbeatMs: number;
}

/** A client that reads slower than this much unsent output is dropped (it reconnects and resumes). */
const MAX_BUFFERED_BYTES = 256 * 1024;

/**
 * The Server-Sent Events edge of the live order feed: opens a stream per request (within the cap),
 * writes each message with the order's stream version as its `id`, sends a heartbeat comment to
 * every stream on one timer per instance and, on the same tick, runs the sweep for all of them.
 */
export class LiveStreams {
  private readonly open = new Map<OrderFollower, ServerResponse>();
  private opening = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly metrics;

  constructor(
    private readonly ports: FollowPorts,
    private readonly limits: LiveLimits,
    registry: Registry,
    private readonly logger: Logger,
  ) {
    this.metrics = {
      open: gauge(registry, {
        name: 'orderflow_sse_streams_open',
        help: 'Live order streams (GET /api/orders/:id/events) open on this instance.',
      }),
      refused: counter(registry, {
        name: 'orderflow_sse_streams_refused_total',
        help: 'Live order streams refused because SSE_MAX_STREAMS were open.',
      }),
      messages: counter(registry, {
        name: 'orderflow_sse_messages_total',
        help: 'Live order stream messages sent, by source (live: the announcement itself; store: read from the event store on connect, resume or a gap).',
        labelNames: ['source'] as const,
      }),
    };
    this.timer = setInterval(() => this.tick(), limits.heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.open.size;
  }

  /** `GET /api/orders/:id/events`. */
  async serve(
    req: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
    principal: Principal,
  ): Promise<void> {
    // Streams being opened count too: many requests at once cannot pass the cap together.
    if (this.open.size + this.opening >= this.limits.maxStreams) {
      this.metrics.refused.inc();
      throw fail({ code: 'too-many-streams', limit: this.limits.maxStreams, retryAfterSeconds: 5 });
    }
    this.opening++;
    let opened;
    try {
      opened = await openOrderFeed(
        this.ports,
        principal,
        req.params.id,
        req.headers['last-event-id'],
      );
    } finally {
      this.opening--;
    }
    // The client has the final state already: 204 tells an EventSource to stop reconnecting.
    if (opened === 'finished') {
      await reply.code(204).header('cache-control', 'no-store').send();
      return;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-request-id': req.id,
    });
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);
    const { follower, first } = opened;
    this.open.set(follower, res);
    this.metrics.open.set(this.open.size);
    res.on('close', () => {
      follower.close();
      this.open.delete(follower);
      this.metrics.open.set(this.open.size);
    });
    follower.attach(this.sinkOf(res), first);
  }

  private sinkOf(res: ServerResponse): FeedSink {
    return {
      send: (m, source) => {
        if (res.writableEnded) return;
        res.write(sseMessage(m));
        this.metrics.messages.inc({ source });
        if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
      },
      end: () => {
        if (!res.writableEnded) res.end();
      },
    };
  }

  private tick(): void {
    for (const res of this.open.values()) if (!res.writableEnded) res.write(SSE_HEARTBEAT);
    sweepFollowers(this.ports, [...this.open.keys()]).catch((err: unknown) =>
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'live order feed sweep failed',
      ),
    );
  }

  /** Ends every stream (shutdown): clients reconnect to another instance with Last-Event-ID. */
  close(): void {
    clearInterval(this.timer);
    for (const f of [...this.open.keys()]) f.close();
  }
}
