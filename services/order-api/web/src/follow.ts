import { EventSource } from 'eventsource';
import { authHeaders, type Session } from './api';
import { FINAL } from './format';

/** One message of GET /api/orders/:id/events. */
export interface FeedMessage {
  order: {
    orderId: string;
    status: string;
    version: number;
    amount: number;
    restaurantId: string;
    refunded: boolean;
    cancellationReason?: string;
  };
  events: { version: number; type: string; createdAt: string; reason?: string }[];
}

export interface Following {
  close(): void;
}

/**
 * Follows an order over Server-Sent Events. The `eventsource` package (not the browser's own
 * EventSource) because it can send the bearer token; like the browser's it reconnects by itself
 * with Last-Event-ID, so a dropped connection resumes where it stopped.
 */
export function follow(
  session: Session,
  orderId: string,
  on: {
    message: (m: FeedMessage) => void;
    state: (s: 'open' | 'reconnecting' | 'closed' | 'failed', detail?: string) => void;
  },
): Following {
  const headers = authHeaders(session);
  const es = new EventSource(`/api/orders/${encodeURIComponent(orderId)}/events`, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...headers },
      }),
  });
  es.onopen = () => on.state('open');
  es.onmessage = (e: MessageEvent<string>) => {
    const m = JSON.parse(e.data) as FeedMessage;
    on.message(m);
    if (FINAL.has(m.order.status)) {
      es.close();
      on.state('closed');
    }
  };
  es.onerror = (e: { code?: number; message?: string }) => {
    if (es.readyState === es.CLOSED) on.state('failed', e.code ? `HTTP ${e.code}` : e.message);
    else on.state('reconnecting');
  };
  return { close: () => es.close() };
}
