import { metadataCausedBy as causedBy, type Envelope } from '@orderflow/platform';

export { appendOne } from '@orderflow/platform';

export const PRODUCER = 'payment';

/** Metadata of an event the payment service appends because of `cause` (docs/flow.md). */
export const metadataCausedBy = (cause: Envelope): Record<string, string> =>
  causedBy(cause, PRODUCER);
