import { projectedOrderSchema, subjects, type ProjectedOrder } from '@orderflow/contracts';
import {
  connectNats,
  counter,
  type Logger,
  type NatsConnection,
  type Registry,
} from '@orderflow/platform';
import type { OrderChangesPort } from '../application/ports';

type Listener = (p: ProjectedOrder) => void;

interface Watched {
  listeners: Set<Listener>;
  unsubscribe: () => void;
  /** Resolves when the server has the subscription (or it could not be made now). */
  ready: Promise<void>;
}

/** How long a new subscription waits for the server's round trip before it counts as made. */
const SUBSCRIBE_FLUSH_MS = 2000;
/** Until the first connection, how often it is tried again. */
const CONNECT_RETRY_MS = 2000;

/**
 * The live order feed over NATS core: one subscription per followed order and instance
 * (`orderflow.projected.order.<id>`), shared by every client of this instance that follows it,
 * so NATS hands each instance only the orders its clients follow, and any number of order-api
 * replicas each get their own copy. The connection is made in the background: the API starts and
 * answers without NATS, and while NATS is away followers are caught up by the sweep instead.
 */
export class NatsOrderChanges implements OrderChangesPort {
  private nc: NatsConnection | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly watched = new Map<string, Watched>();
  private readonly received;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.received = counter(registry, {
      name: 'orderflow_live_feed_messages_total',
      help: 'Messages of the live order feed received, by result (accepted, invalid).',
      labelNames: ['result'] as const,
    });
    this.connect(true);
  }

  /** Connects in the background, again every few seconds until it works or the feed closes. */
  private connect(first: boolean): void {
    connectNats(this.url, this.logger, 'order-api', { waitOnFirstConnect: false })
      .then((nc) => {
        if (this.closed) return nc.close();
        this.nc = nc;
        for (const [orderId, w] of this.watched) w.unsubscribe = this.open(orderId, w).unsubscribe;
        return undefined;
      })
      .catch((err: unknown) => {
        if (first)
          this.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'live order feed: no NATS yet; streams are caught up by the sweep until it connects',
          );
        if (!this.closed) this.retry = setTimeout(() => this.connect(false), CONNECT_RETRY_MS);
      });
  }

  async subscribe(orderId: string, listener: Listener): Promise<() => void> {
    let w = this.watched.get(orderId);
    if (!w) {
      w = { listeners: new Set(), unsubscribe: () => undefined, ready: Promise.resolve() };
      this.watched.set(orderId, w);
      const opened = this.open(orderId, w);
      w.unsubscribe = opened.unsubscribe;
      w.ready = opened.ready;
    }
    w.listeners.add(listener);
    await w.ready;
    const entry = w;
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size > 0 || this.watched.get(orderId) !== entry) return;
      this.watched.delete(orderId);
      entry.unsubscribe();
    };
  }

  /** Subscribes now when connected; `ready` once the server has it (a flush round trip). */
  private open(orderId: string, w: Watched): Pick<Watched, 'unsubscribe' | 'ready'> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return { unsubscribe: () => undefined, ready: Promise.resolve() };
    const sub = nc.subscribe(subjects.projectedOrder(orderId), {
      callback: (err, msg) => {
        if (!err) this.deliver(w, msg.string());
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const ready = Promise.race([
      nc.flush().catch(() => undefined),
      new Promise<void>((r) => (timer = setTimeout(r, SUBSCRIBE_FLUSH_MS))),
    ]).finally(() => clearTimeout(timer));
    return { unsubscribe: () => sub.unsubscribe(), ready };
  }

  private deliver(w: Watched, text: string): void {
    let parsed: ReturnType<typeof projectedOrderSchema.safeParse>;
    try {
      parsed = projectedOrderSchema.safeParse(JSON.parse(text));
    } catch {
      this.received.inc({ result: 'invalid' });
      return;
    }
    if (!parsed.success) {
      this.received.inc({ result: 'invalid' });
      return;
    }
    this.received.inc({ result: 'accepted' });
    for (const l of w.listeners) l(parsed.data);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.watched.clear();
    await this.nc?.close().catch(() => undefined);
  }
}
