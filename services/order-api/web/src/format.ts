/** Pure helpers of the console: money, times and the path an order takes. */

/** `1250` → `12.50`: integer cents, no floating point near money. */
export function formatCents(cents: number): string {
  const digits = String(Math.abs(cents)).padStart(3, '0');
  return `${cents < 0 ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** `07:24:36.311`, local time, to the millisecond: the steps of an order are that close. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export const FINAL = new Set(['Approved', 'Cancelled']);

/**
 * The states an order passes, as far as they are known: the happy path until something else
 * happens, then the compensation path it took (docs/flow.md).
 */
export function pathOf(seen: readonly string[]): string[] {
  if (seen.includes('PaymentDeclined')) return ['Pending', 'PaymentDeclined', 'Cancelled'];
  if (seen.includes('Rejected') || seen.includes('Refunded'))
    return ['Pending', 'Paid', 'Rejected', 'Refunded', 'Cancelled'];
  if (seen.includes('Cancelled')) return ['Pending', ...seen.filter((s) => s !== 'Pending')];
  return ['Pending', 'Paid', 'Approved'];
}

/** `order-payment-debited` → `payment debited`. */
export const eventLabel = (type: string): string => type.replace(/^order-/, '').replace(/-/g, ' ');
