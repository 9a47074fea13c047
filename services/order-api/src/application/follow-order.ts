import type { ProjectedOrder } from '@orderflow/contracts';
import type { Logger } from '@orderflow/platform';
import { mayRead, type Principal } from '../domain/auth';
import {
  catchUp,
  isFinal,
  nextMessage,
  stepsOf,
  validateLastEventId,
  type FeedMessage,
} from '../domain/live';
import { fail, validationFailure } from '../domain/problems';
import { validateOrderId } from '../domain/query';
import type { OrderChangesPort, OrderEventsPort, ReadModelPort } from './ports';

export interface FollowPorts {
  events: Pick<OrderEventsPort, 'readStream'>;
  readModel: Pick<ReadModelPort, 'get' | 'versions'>;
  changes: OrderChangesPort;
  logger: Logger;
}

/** Where a follower's messages go: the HTTP edge writes them as Server-Sent Events. */
export interface FeedSink {
  send(message: FeedMessage, source: 'live' | 'store'): void;
  /** The order reached a final state (or the follower was closed): end the response. */
  end(): void;
}

/**
 * One client following one order. Messages go out strictly one after another: a projected row
 * that is the next version is sent as it is; one further on, or a sweep that finds the read model
 * ahead, fills the versions in between from the event store (folded by the projection), so the
 * client sees every version in order. It ends itself at a final state.
 */
export class OrderFollower {
  private sink: FeedSink | undefined;
  private waiting: ProjectedOrder[] = [];
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly ports: FollowPorts,
    readonly orderId: string,
    /** The version of the last message the client has (-1: none yet). */
    private lastSent: number,
  ) {}

  /** Rows announced before the client is attached wait, so none is lost between read and attach. */
  readonly onProjected = (p: ProjectedOrder): void => {
    if (this.closed) return;
    if (!this.sink) this.waiting.push(p);
    else this.enqueue(() => this.apply(p));
  };

  subscribed(unsubscribe: () => void): void {
    this.unsubscribe = unsubscribe;
  }

  /** Sends the first messages, then what was announced meanwhile. */
  attach(sink: FeedSink, first: FeedMessage[]): void {
    this.sink = sink;
    for (const m of first) this.emit(m, 'store');
    const waiting = this.waiting;
    this.waiting = [];
    for (const p of waiting) this.onProjected(p);
  }

  /** The sweep found the read model at `version`: catch up if the live feed missed it. */
  catchUpTo(version: number): void {
    if (!this.closed && this.sink && version > this.lastSent)
      this.enqueue(() => this.fill(version));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.sink?.end();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((err: unknown) => {
      // The event store may be away: the next announcement or sweep tries again.
      this.ports.logger.warn(
        { orderId: this.orderId, err: err instanceof Error ? err.message : String(err) },
        'live order feed could not catch up',
      );
    });
  }

  private async apply(p: ProjectedOrder): Promise<void> {
    if (this.closed) return;
    const next = nextMessage(this.lastSent, p);
    if (next === 'gap') await this.fill(p.order.version);
    else if (next !== 'seen') this.emit(next, 'live');
  }

  private async fill(target: number): Promise<void> {
    if (this.closed || target <= this.lastSent) return;
    const steps = stepsOf(await this.ports.events.readStream(this.orderId));
    for (const m of catchUp(steps, this.lastSent, target)) this.emit(m, 'store');
  }

  private emit(m: FeedMessage, source: 'live' | 'store'): void {
    if (this.closed || !this.sink || m.order.version <= this.lastSent) return;
    this.sink.send(m, source);
    this.lastSent = m.order.version;
    if (isFinal(m.order.status)) this.close();
  }
}

/** A follower ready to attach, or `finished`: the client already has the order's final state. */
export type OpenedFeed = { follower: OrderFollower; first: FeedMessage[] } | 'finished';

function validated(rawId: unknown, header: string | string[] | undefined) {
  const id = validateOrderId(rawId);
  const last = validateLastEventId(header);
  if (!id.ok || !last.ok) validationFailure(id.ok ? [] : id.errors, last.ok ? [] : last.errors);
  return { orderId: id.value, lastEventId: last.value };
}

/** The first messages for a client that has `lastEventId` (or nothing), or `finished`. */
async function firstMessages(
  ports: FollowPorts,
  principal: Principal,
  orderId: string,
  lastEventId: number | undefined,
): Promise<FeedMessage[] | 'finished'> {
  const [row, history] = await Promise.all([
    ports.readModel.get(orderId),
    ports.events.readStream(orderId),
  ]);
  const steps = stepsOf(history);
  const owner = row?.customerId ?? steps[0]?.record.customerId;
  if (owner === undefined) throw fail({ code: 'order-not-found', orderId });
  if (!mayRead(principal, owner))
    throw fail({
      code: 'forbidden',
      field: 'id',
      message: "is another customer's order; only staff may follow it",
    });
  const target = row?.version ?? 0;
  const first = catchUp(steps, lastEventId ?? 'none', target);
  const atTarget = steps.find((s) => s.record.version === target);
  return first.length === 0 && atTarget && isFinal(atTarget.record.status) ? 'finished' : first;
}

/**
 * `GET /api/orders/:id/events`: subscribe to the order's announcements first, then read the read
 * model and the stream, so nothing projected in between is missed. The first messages bring the
 * client to the read model's version (the version `GET /api/orders/:id` answers; 0 while the
 * projection has not caught up): the current order, or with `Last-Event-ID` every version after
 * it. Only its customer or staff may follow an order (as for `GET /api/orders/:id`).
 */
export async function openOrderFeed(
  ports: FollowPorts,
  principal: Principal,
  rawId: unknown,
  lastEventIdHeader: string | string[] | undefined,
): Promise<OpenedFeed> {
  const { orderId, lastEventId } = validated(rawId, lastEventIdHeader);
  const follower = new OrderFollower(ports, orderId, lastEventId ?? -1);
  follower.subscribed(await ports.changes.subscribe(orderId, follower.onProjected));
  try {
    const first = await firstMessages(ports, principal, orderId, lastEventId);
    if (first === 'finished') follower.close();
    return first === 'finished' ? 'finished' : { follower, first };
  } catch (err: unknown) {
    follower.close();
    throw err;
  }
}

/**
 * The safety net of the live feed, run by each API instance for all its followers at once (one
 * query, not one per client): an order whose row moved without an announcement reaching this
 * instance (a lost core NATS message, a worker that stopped between its write and its publish)
 * is caught up from the event store.
 */
export async function sweepFollowers(
  ports: Pick<FollowPorts, 'readModel'>,
  followers: readonly OrderFollower[],
): Promise<void> {
  const open = followers.filter((f) => !f.isClosed);
  if (open.length === 0) return;
  const versions = await ports.readModel.versions([...new Set(open.map((f) => f.orderId))]);
  for (const f of open) {
    const v = versions.get(f.orderId);
    if (v !== undefined) f.catchUpTo(v);
  }
}
