import { PoisonMessageError, RetryLaterError } from '../envelope';
import { isTransientGrpcError } from '../grpc';

/** What a handler did with a message; all three are acked. */
export type MessageOutcome = 'handled' | 'duplicate' | 'ignored';

/** How a handler's run ended: an outcome, or the error it threw. */
export type HandlerResult = { ok: true; outcome: MessageOutcome } | { ok: false; error: unknown };

export interface SettlePolicy {
  /** Deliveries before a failing message is dead-lettered (CONSUMER_MAX_DELIVER or the runtime config's). */
  maxDeliver: number;
  /** Deliveries allowed for an infrastructure failure (an outage is waited out far longer). */
  infrastructureMaxDeliver: number;
}

export const defaultInfrastructureMaxDeliver = 1000;

/** What to do with a message: every message ends in exactly one of these. */
export type Settlement =
  | { action: 'ack'; outcome: MessageOutcome }
  /** `expected`: the handler asked for the retry (RetryLaterError), nothing failed. */
  | { action: 'nak'; delayMs: number; reason: string; expected: boolean }
  /** Terminate the message and record it on the dead-letter subject. */
  | { action: 'deadLetter'; kind: 'poison' | 'max_deliver'; reason: string };

/** Exponential backoff of a failed delivery: 200 ms doubling up to 10 s. */
export const backoffMs = (deliveryCount: number): number =>
  Math.min(10_000, 100 * 2 ** Math.min(deliveryCount, 7));

const INFRASTRUCTURE_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|57P0[1-3]|08\d{3}|53300|40001|40P01)$/;
const INFRASTRUCTURE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|RetriesExhausted/i;

/**
 * Failures of the infrastructure rather than of the message (the database or the event store is
 * down or restarting): they are retried far longer than MaxDeliver, so that an outage does not
 * dead-letter every message that arrived during it.
 */
export function isInfrastructureError(err: unknown): boolean {
  if (isTransientGrpcError(err)) return true;
  const code =
    typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && INFRASTRUCTURE_CODES.test(code)) return true;
  return INFRASTRUCTURE_MESSAGES.test(err instanceof Error ? err.message : '');
}

/** Deliveries allowed for this error before the message is dead-lettered. */
function budgetOf(err: unknown, policy: SettlePolicy): number {
  if (err instanceof RetryLaterError) return err.maxDeliver ?? policy.maxDeliver;
  if (isInfrastructureError(err))
    return Math.max(policy.maxDeliver, policy.infrastructureMaxDeliver);
  return policy.maxDeliver;
}

/**
 * The consumer's ack policy, pure: a handled message is acked; a poison message is dead-lettered
 * at once; a failure is nak'ed with a delay (the handler's own for RetryLaterError, else
 * exponential backoff) until its delivery budget is spent, then dead-lettered.
 */
export function settle(
  result: HandlerResult,
  deliveryCount: number,
  policy: SettlePolicy,
): Settlement {
  if (result.ok) return { action: 'ack', outcome: result.outcome };
  const err = result.error;
  const reason = err instanceof Error ? err.message : String(err);
  if (err instanceof PoisonMessageError) return { action: 'deadLetter', kind: 'poison', reason };
  if (deliveryCount >= budgetOf(err, policy))
    return { action: 'deadLetter', kind: 'max_deliver', reason };
  const expected = err instanceof RetryLaterError;
  const delayMs = err instanceof RetryLaterError ? err.delayMs : backoffMs(deliveryCount);
  return { action: 'nak', delayMs, reason, expected };
}
