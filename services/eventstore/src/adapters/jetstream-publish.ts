import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';

interface Waiting {
  resolve(): void;
  reject(err: Error): void;
  deadline: number;
}

/**
 * JetStream publishing with acks, pipelined: each message is a core NATS publish whose reply
 * subject is a token under one inbox subscription; the stream's ack arrives there and settles the
 * publish. This is what `jetstream(nc).publish()` does on the wire, without its per-message
 * costs: a request object with a random token, a timer and a deferred per publish, and (a
 * nats.js 3.x quirk) an `Error` with a stack trace built on every successful ack when the request
 * is cleaned up. Those were about a tenth of the event store's CPU under load
 * (docs/performance.md). One timer sweeps the deadlines instead of one timer per message.
 */
export class PipelinedJetStream {
  private readonly prefix = `${createInbox()}.`;
  private readonly waiting = new Map<string, Waiting>();
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.settle(err, msg) });
    this.sweeper = setInterval(() => this.expire(Date.now()), Math.min(1000, timeoutMs));
    this.sweeper.unref();
  }

  /** Publishes `data` with `Nats-Msg-Id` = `msgId` (JetStream dedupes on it); resolves on the stream's ack. */
  publish(subject: string, data: Uint8Array, msgId: string, headers: MsgHdrs): Promise<void> {
    headers.set('Nats-Msg-Id', msgId);
    const token = (this.next = (this.next + 1) % Number.MAX_SAFE_INTEGER).toString(36);
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, deadline: Date.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, data, { reply: this.prefix + token, headers });
      } catch (err: unknown) {
        this.waiting.delete(token);
        reject(err instanceof Error ? err : new Error('publish failed'));
      }
    });
  }

  /** Fails every publish still waiting for its ack. */
  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    this.expire(Infinity, 'publisher closed');
  }

  private settle(err: Error | null, msg: Msg): void {
    const w = this.waiting.get(msg.subject.slice(this.prefix.length));
    if (!w) return; // expired already
    this.waiting.delete(msg.subject.slice(this.prefix.length));
    if (err) return w.reject(err);
    // No stream listens on the subject: the server answers 503 with no data.
    if (msg.data.length === 0 && msg.headers?.code === 503)
      return w.reject(new Error(`no JetStream stream stores ${msg.subject}`));
    const text = msg.string();
    // An ack is `{"stream":..,"seq":..}`; only a failure has an "error" member worth parsing.
    if (!text.includes('"error"')) return w.resolve();
    let description = text;
    try {
      const body = JSON.parse(text) as { error?: { description?: string; err_code?: number } };
      description = `${body.error?.description ?? 'error'} (${body.error?.err_code ?? '?'})`;
    } catch {
      // keep the raw text
    }
    w.reject(new Error(`JetStream refused the publish: ${description}`));
  }

  private expire(now: number, reason = 'timed out waiting for the JetStream ack'): void {
    for (const [token, w] of this.waiting)
      if (w.deadline <= now) {
        this.waiting.delete(token);
        w.reject(new Error(reason));
      }
  }
}
