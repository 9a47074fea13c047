import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { deadLetterHeaders, subjects } from '@orderflow/contracts';

/**
 * Records a message on the dead-letter subject (with why, how often it was delivered, and its
 * original headers under their own names, so a re-drive republishes them as they were), then
 * terminates it. The record comes first: a crash between the two redelivers, never loses it.
 */
export async function deadLetter(
  js: JetStreamClient,
  m: JsMsg,
  durable: string,
  kind: string,
  reason: string,
): Promise<void> {
  const h = natsHeaders();
  h.set(deadLetterHeaders.reason, reason.slice(0, 1000));
  h.set(deadLetterHeaders.kind, kind);
  h.set(deadLetterHeaders.originalSubject, m.subject);
  h.set(deadLetterHeaders.originalSequence, String(m.info.streamSequence));
  h.set(deadLetterHeaders.deliveryCount, String(m.info.deliveryCount));
  h.set(deadLetterHeaders.consumer, durable);
  if (m.headers)
    for (const k of m.headers.keys())
      if (!k.toLowerCase().startsWith('nats-') && !h.has(k))
        for (const v of m.headers.values(k)) h.append(k, v);
  await js.publish(subjects.deadLetter(durable), m.data, {
    msgID: `${durable}:${m.info.streamSequence}`,
    headers: h,
    timeout: 5_000,
  });
  m.term(reason.slice(0, 200));
}
