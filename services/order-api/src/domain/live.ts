import { z } from 'zod';
import {
  finalOrderStatuses,
  orderStreamEventSchema,
  orderViewSchema,
  project,
  streamEventOf,
  type OrderRecord,
  type OrderStatus,
  type OrderStreamEvent,
  type OrderView,
  type VersionedEvent,
} from '@orderflow/contracts';
import type { Validated } from './order';
import { toView } from './query';

/**
 * The live order feed of `GET /api/orders/:id/events`, pure: which messages bring a follower from
 * the version it has to the version to show, and how one is framed as a Server-Sent Event. Every
 * message carries the stream version of the order it shows as its SSE `id`, so a reconnect with
 * `Last-Event-ID` asks for exactly what it has not seen.
 */

/** One message: the order as it stood at `order.version`, and the events since the message before. */
export interface FeedMessage {
  order: OrderView;
  events: OrderStreamEvent[];
}

export const feedMessageSchema = z.strictObject({
  order: orderViewSchema,
  events: z.array(orderStreamEventSchema),
}) satisfies z.ZodType<FeedMessage>;

/** The order right after one event of its stream. */
export interface Step {
  record: OrderRecord;
  event: OrderStreamEvent;
}

/**
 * The order after each event of its stream (read from the event store, in version order), by the
 * projection the query worker writes the read model with. Stops at a gap or a duplicate: a stream
 * read whole has neither, unless an event is unknown to this build's catalogue.
 */
export function stepsOf(history: readonly VersionedEvent[]): Step[] {
  const steps: Step[] = [];
  let state: OrderRecord | undefined;
  for (const e of history) {
    const next = project(state, e);
    if (next === 'duplicate' || next === 'gap') break;
    state = next;
    steps.push({ record: next, event: streamEventOf(e) });
  }
  return steps;
}

export const isFinal = (status: OrderStatus): boolean => finalOrderStatuses.has(status);

/**
 * What a follower that has seen up to version `after` is sent to reach `target`: one message per
 * version (each status change in order). `after = 'none'` (a first connection, no Last-Event-ID)
 * is one message instead: the order at `target` with every event up to it.
 */
export function catchUp(
  steps: readonly Step[],
  after: number | 'none',
  target: number,
): FeedMessage[] {
  const upTo = steps.filter((s) => s.record.version <= target);
  if (after === 'none') {
    const last = upTo[upTo.length - 1];
    return last ? [{ order: toView(last.record), events: upTo.map((s) => s.event) }] : [];
  }
  return upTo
    .filter((s) => s.record.version > after)
    .map((s) => ({ order: toView(s.record), events: [s.event] }));
}

/** The message of one projected row, when it is the next version after `after`. */
export function nextMessage(
  after: number,
  projected: { order: OrderRecord; event: OrderStreamEvent },
): FeedMessage | 'seen' | 'gap' {
  const v = projected.order.version;
  if (v <= after) return 'seen';
  if (v > after + 1 || projected.event.version !== v) return 'gap';
  return { order: toView(projected.order), events: [projected.event] };
}

/** One SSE message: `id` is the order's stream version; JSON never holds a raw line break. */
export const sseMessage = (m: FeedMessage): string =>
  `id: ${m.order.version}\ndata: ${JSON.stringify(m)}\n\n`;

/** A comment line: keeps proxies and clients from timing out an idle stream. */
export const SSE_HEARTBEAT = ': heartbeat\n\n';

/** How long a client waits before it reconnects (SSE `retry`), in milliseconds. */
export const SSE_RETRY_MS = 2000;

export const LAST_EVENT_ID_HEADER = 'Last-Event-ID';

/** The `Last-Event-ID` header: a stream version. */
export const lastEventIdSchema = z.string().regex(/^\d{1,15}$/);

/** `Last-Event-ID`: the stream version of the last message the client has; absent on a first connection. */
export function validateLastEventId(
  header: string | string[] | undefined,
): Validated<number | undefined> {
  if (header === undefined || header === '') return { ok: true, value: undefined };
  if (typeof header === 'string' && lastEventIdSchema.safeParse(header).success)
    return { ok: true, value: Number(header) };
  return {
    ok: false,
    errors: [
      {
        field: LAST_EVENT_ID_HEADER,
        message: 'must be a stream version this API sent (a whole number)',
      },
    ],
  };
}
