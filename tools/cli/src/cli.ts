import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EventSource } from 'eventsource';
import type { OrderView } from '@orderflow/contracts';

/** Where the CLI writes and what it reads from its surroundings; tests pass their own. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export const defaultIo = (): Io => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => Date.now(),
});

export const DEFAULT_API = 'http://127.0.0.1:8080';
const FINAL_STATES = new Set(['Approved', 'Cancelled']);

export const HELP = `orders: command-line client of the orderflow order API

usage: npm run orders -- <command> [options]

commands:
  place --customer <id> --restaurant <id> --item <code:quantity> [--item ...]
        [--idempotency-key <key>] [--wait] [--timeout <s>]
                              place an order; the menu sets the price; --wait then watches
                              it to a final state
  get <orderId> [--customer <id>]
                              show one order
  list [--customer <id>] [--limit <n>] [--cursor <c>]
                              a customer's orders, newest first
  watch <orderId> [--customer <id>] [--timeout <s>] [--interval <ms>]
                              follow the order live (Server-Sent Events of
                              GET /api/orders/:id/events): print each status change
                              until Approved or Cancelled (exit 0), or until the
                              timeout (exit 1; default 30 s); a dropped connection
                              resumes where it stopped after --interval (default 1000)
  token --customer <id> [--staff]
                              print a bearer token of the local development issuer
                              (make up AUTH=dev), e.g. for curl

items: --item code:quantity (priced from the menu), or code:unitPriceCents:quantity and the
older code:name:unitPriceCents:quantity, where the price is the one you expect to pay: when the
menu says otherwise the API answers 409 and nothing is ordered.

authentication: --token <jwt>, else $ORDERFLOW_TOKEN; else, when .run/endpoints.json says the
local runner issues development tokens (make up AUTH=dev), the CLI gets one from it for
--customer (for get and watch without --customer: a staff token, which may read any order).
With a token, --customer may be left out of place and list (the token names the customer).

options:
  --api <url>     the order API (default: $ORDERFLOW_API, else .run/endpoints.json's api,
                  else ${DEFAULT_API})
  --token <jwt>   bearer token (default: $ORDERFLOW_TOKEN, else a development token, else none)
  --json          print JSON instead of text
  -h, --help      this help

examples:
  npm run orders -- place --customer c1 --restaurant trattoria \\
      --item margherita:2 --item tiramisu:1 --wait
  npm run orders -- get 3b0f8a52-3c1e-4c57-9a4e-1f0c2d9e8b71
  npm run orders -- list --customer c1 --limit 5
  npm run orders -- watch 3b0f8a52-3c1e-4c57-9a4e-1f0c2d9e8b71 --timeout 60
  TOKEN=$(npm run -s orders -- token --customer c1)
  curl -s 127.0.0.1:8080/api/orders -H "authorization: Bearer $TOKEN"
  ORDERFLOW_API=http://localhost:8080 ORDERFLOW_TOKEN=<jwt> npm run orders -- list --json

exit codes: 0 done, 1 the API said no (or a watch timed out), 2 bad usage.
`;

class UsageError extends Error {
  override name = 'UsageError';
}

/** The API answered with a problem, or could not be reached: printed as one line per field. */
class ApiCallError extends Error {
  override name = 'ApiCallError';
}

interface FieldError {
  field: string;
  message: string;
}

/** An item as the CLI sends it: a code and a quantity, perhaps the expected price (and a name). */
export interface RequestedItem {
  code: string;
  quantity: number;
  unitPrice?: number;
  name?: string;
}

/** An order as the API answers it; `version` and the times are missing from a just-placed one. */
type Order = Omit<OrderView, 'version' | 'createdAt' | 'updatedAt' | 'refunded'> &
  Partial<Pick<OrderView, 'version' | 'createdAt' | 'updatedAt' | 'refunded'>>;

const options = {
  api: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  customer: { type: 'string' },
  restaurant: { type: 'string' },
  item: { type: 'string', multiple: true },
  'idempotency-key': { type: 'string' },
  wait: { type: 'boolean', default: false },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  timeout: { type: 'string' },
  interval: { type: 'string' },
  token: { type: 'string' },
  staff: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values'];

/** What the local runner wrote to `.run/endpoints.json` (only the parts the CLI reads). */
interface Endpoints {
  api?: string;
  auth?: { mode?: string; tokenUrl?: string };
}

function readEndpoints(cwd: string): Endpoints {
  try {
    const parsed = JSON.parse(readFileSync(join(cwd, '.run', 'endpoints.json'), 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/** `--api`, else `ORDERFLOW_API`, else the local runner's `.run/endpoints.json`, else the default. */
export function resolveApi(flag: string | undefined, io: Pick<Io, 'env' | 'cwd'>): string {
  const fromEnv = io.env['ORDERFLOW_API'];
  const fromFile = readEndpoints(io.cwd).api;
  const chosen =
    flag ??
    (fromEnv || undefined) ??
    (typeof fromFile === 'string' && fromFile ? fromFile : undefined) ??
    DEFAULT_API;
  return chosen.replace(/\/+$/, '');
}

/** The local runner's development token endpoint, when `make up AUTH=dev` wrote one. */
export function devTokenUrl(cwd: string): string | undefined {
  const auth = readEndpoints(cwd).auth;
  return auth?.mode === 'dev' && typeof auth.tokenUrl === 'string' ? auth.tokenUrl : undefined;
}

/** A token of the local development issuer for `customer` (staff: may read every order). */
async function devToken(tokenUrl: string, customer: string, staff: boolean): Promise<string> {
  let res: Response;
  try {
    res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer, staff }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (err: unknown) {
    throw new ApiCallError(
      `cannot reach the development issuer at ${tokenUrl} (is make up AUTH=dev running?): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: unknown;
    error_description?: unknown;
  };
  if (!res.ok || typeof body.access_token !== 'string')
    throw new ApiCallError(
      `the development issuer refused a token: ${typeof body.error_description === 'string' ? body.error_description : res.status}`,
    );
  return body.access_token;
}

/**
 * `--item`: `code:quantity`; `code:unitPriceCents:quantity`; or the older
 * `code:name:unitPriceCents:quantity`, where the name may itself contain colons. A price is the
 * one the caller expects: the menu sets the price.
 */
export function parseItem(spec: string): RequestedItem {
  const parts = spec.split(':');
  const usage = `--item "${spec}" must be code:quantity (or code:unitPriceCents:quantity)`;
  if (parts.length < 2) throw new UsageError(usage);
  const code = parts[0] ?? '';
  const quantity = parts[parts.length - 1] ?? '';
  if (!code) throw new UsageError(usage);
  if (!/^\d+$/.test(quantity))
    throw new UsageError(`--item "${spec}": quantity must be a whole number`);
  if (parts.length === 2) return { code, quantity: Number(quantity) };
  const unitPrice = parts[parts.length - 2] ?? '';
  if (!/^\d+$/.test(unitPrice))
    throw new UsageError(`--item "${spec}": unitPrice must be integer cents (1250 for 12.50)`);
  const item: RequestedItem = { code, unitPrice: Number(unitPrice), quantity: Number(quantity) };
  const name = parts.slice(1, -2).join(':');
  return name ? { code, name, unitPrice: item.unitPrice, quantity: item.quantity } : item;
}

export const formatCents = (cents: number): string => {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
};

const positiveInt = (flag: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) <= 0)
    throw new UsageError(`--${flag} must be a positive whole number`);
  return Number(v);
};

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Why fetch failed, as its cause says (a code such as ECONNREFUSED, or a message). */
function fetchFailure(err: unknown): string {
  const c =
    err instanceof Error
      ? (err.cause as { code?: unknown; message?: unknown } | undefined)
      : undefined;
  if (typeof c?.code === 'string') return c.code;
  return typeof c?.message === 'string' ? c.message : String(err);
}

/** The answer's JSON body; a body that is not JSON stays text, for the message. */
function bodyOf(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return text;
  }
}

class Client {
  constructor(
    readonly base: string,
    private readonly token: () => Promise<string | undefined>,
  ) {}

  /** The Authorization header of a request, when there is a token. */
  async authorization(): Promise<Record<string, string>> {
    const token = await this.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const token = await this.token();
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err: unknown) {
      throw new ApiCallError(`cannot reach the order API at ${this.base}: ${fetchFailure(err)}`);
    }
    return { status: res.status, body: bodyOf(await res.text()), headers: res.headers };
  }

  /** The answer's body when the status is one of `ok`, else an ApiCallError describing the problem. */
  async expect<T>(
    ok: number[],
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    const a = await this.call(method, path, body, headers);
    if (ok.includes(a.status)) return a.body as T;
    const hint =
      a.status === 401
        ? '\nthe API wants a bearer token: --token or ORDERFLOW_TOKEN (with make up AUTH=dev the CLI gets one itself)'
        : '';
    throw new ApiCallError(describeProblem(a.status, a.body) + hint);
  }
}

/** `400 items[0].quantity: must be an integer from 1 to 100`, one line per field. */
export function describeProblem(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const p = body as { title?: unknown; detail?: unknown; errors?: unknown };
    if (Array.isArray(p.errors) && p.errors.length > 0) {
      return (p.errors as FieldError[]).map((e) => `${status} ${e.field}: ${e.message}`).join('\n');
    }
    const title = typeof p.title === 'string' ? p.title : 'error';
    return typeof p.detail === 'string' ? `${status} ${title}: ${p.detail}` : `${status} ${title}`;
  }
  return `${status} ${typeof body === 'string' && body ? body.slice(0, 200) : 'error'}`;
}

function orderText(o: Order): string {
  const lines = [
    `order       ${o.orderId}`,
    `status      ${o.status}${o.cancellationReason ? ` (${o.cancellationReason})` : ''}${o.refunded ? ', refunded' : ''}`,
    `customer    ${o.customerId}`,
    `restaurant  ${o.restaurantId}`,
    `amount      ${formatCents(o.amount)} (${o.amount} cents)`,
    ...o.items.map((i) => `  ${i.quantity} x ${i.name} (${i.code}) @ ${formatCents(i.unitPrice)}`),
  ];
  if (o.version !== undefined) lines.push(`version     ${o.version}`);
  if (o.updatedAt) lines.push(`updated     ${o.updatedAt}`);
  return `${lines.join('\n')}\n`;
}

/** One line per status change: text, or JSON with --json. */
function changeLine(o: Order, at: string, json: boolean): string {
  if (json)
    return `${JSON.stringify({ at, orderId: o.orderId, status: o.status, version: o.version, cancellationReason: o.cancellationReason })}\n`;
  return `${at}  ${o.orderId}  ${o.status}${o.cancellationReason ? ` (${o.cancellationReason})` : ''}\n`;
}

/** One message of the live order feed (GET /api/orders/:id/events). */
interface FeedMessage {
  order: Order;
}

/** How a connection of the live feed ended. */
type Ended = { kind: 'final' } | { kind: 'retry' } | { kind: 'refused'; message: string };

/**
 * Follows an order over the API's Server-Sent Events (`GET /api/orders/:id/events`): each message
 * is one version of the order, so every status change prints, in order. A dropped connection (an
 * API restart, another replica) resumes with Last-Event-ID after `--interval`; so does a 503.
 */
class Watch {
  private lastId: string | undefined;
  private lastState: string | undefined;

  constructor(
    private readonly client: Client,
    private readonly orderId: string,
    private readonly values: Values,
    private readonly io: Io,
  ) {}

  async run(): Promise<number> {
    const timeoutMs = positiveInt('timeout', this.values.timeout, 30) * 1000;
    const intervalMs = positiveInt('interval', this.values.interval, 1000);
    const deadline = this.io.now() + timeoutMs;
    for (;;) {
      const ended = await this.connect(deadline - this.io.now());
      if (ended.kind === 'final') return 0;
      if (ended.kind === 'refused') throw new ApiCallError(ended.message);
      if (this.io.now() + intervalMs >= deadline) {
        this.io.stderr(
          `timed out after ${timeoutMs / 1000} s: order ${this.orderId} is ${this.lastState ?? 'not visible yet'}\n`,
        );
        return 1;
      }
      await this.io.sleep(intervalMs);
    }
  }

  private print(m: FeedMessage): boolean {
    const o = m.order;
    const state = `${o.status}${o.refunded ? '+refunded' : ''}`;
    if (state !== this.lastState)
      this.io.stdout(changeLine(o, new Date(this.io.now()).toISOString(), this.values.json));
    this.lastState = state;
    return FINAL_STATES.has(o.status);
  }

  /** One connection, until the order is final, the connection fails, or `budgetMs` runs out. */
  private async connect(budgetMs: number): Promise<Ended> {
    const auth = await this.client.authorization();
    let refusal: { status: number; body: unknown } | undefined;
    const url = `${this.client.base}/api/orders/${encodeURIComponent(this.orderId)}/events`;
    const es = new EventSource(url, {
      fetch: async (input, init) => {
        const headers: Record<string, string> = { ...init.headers, ...auth };
        // A new connection resumes after what was printed; the library sets it on its own reconnects.
        if (this.lastId !== undefined) headers['Last-Event-ID'] ??= this.lastId;
        const res = await fetch(input, { ...init, headers });
        if (res.status !== 200 && res.status !== 204)
          refusal = { status: res.status, body: bodyOf(await res.clone().text()) };
        return res;
      },
    });
    return new Promise<Ended>((resolve) => {
      const done = (e: Ended) => {
        clearTimeout(timer);
        es.close();
        resolve(e);
      };
      const timer = setTimeout(() => done({ kind: 'retry' }), Math.max(0, budgetMs));
      es.onmessage = (e) => {
        this.lastId = e.lastEventId || this.lastId;
        if (this.print(JSON.parse(String(e.data)) as FeedMessage)) done({ kind: 'final' });
      };
      es.onerror = (e) => {
        if (es.readyState !== es.CLOSED) return; // it reconnects by itself
        done(ended(e.code, refusal));
      };
    });
  }
}

/** After a connection failed: 204 means final already, a client error is final, the rest retry. */
function ended(
  code: number | undefined,
  refusal: { status: number; body: unknown } | undefined,
): Ended {
  if (code === 204) return { kind: 'final' };
  if (
    refusal &&
    refusal.status >= 400 &&
    refusal.status < 500 &&
    refusal.status !== 408 &&
    refusal.status !== 429
  )
    return { kind: 'refused', message: describeProblem(refusal.status, refusal.body) };
  return { kind: 'retry' };
}

const watch = (client: Client, orderId: string, values: Values, io: Io): Promise<number> =>
  new Watch(client, orderId, values, io).run();

/** What every command gets: the parsed options, the API client and the way to print. */
interface Ctx {
  args: string[];
  values: Values;
  io: Io;
  client: Client;
  /** A token given explicitly (--token or ORDERFLOW_TOKEN). */
  explicit: string | undefined;
  /** The local development issuer's token URL (make up AUTH=dev), if there is one. */
  tokenUrl: string | undefined;
  print(value: unknown, text: string): void;
}

async function place(c: Ctx): Promise<number> {
  const { values } = c;
  if (!values.customer && c.explicit === undefined)
    throw new UsageError('place needs --customer (or a token that names the customer)');
  if (!values.restaurant) throw new UsageError('place needs --restaurant');
  if (!values.item || values.item.length === 0)
    throw new UsageError('place needs at least one --item code:quantity');
  const body = {
    ...(values.customer ? { customerId: values.customer } : {}),
    restaurantId: values.restaurant,
    items: values.item.map(parseItem),
  };
  const key = values['idempotency-key'];
  const headers: Record<string, string> = key ? { 'idempotency-key': key } : {};
  const order = await c.client.expect<Order>([201], 'POST', '/api/orders', body, headers);
  c.print(
    order,
    `placed order ${order.orderId}: ${order.status}, ${formatCents(order.amount)} (${order.amount} cents)\n`,
  );
  return values.wait ? watch(c.client, order.orderId, values, c.io) : 0;
}

async function get(c: Ctx): Promise<number> {
  const id = c.args[0];
  if (!id) throw new UsageError('get needs an order id');
  const order = await c.client.expect<Order>([200], 'GET', `/api/orders/${encodeURIComponent(id)}`);
  c.print(order, orderText(order));
  return 0;
}

async function list(c: Ctx): Promise<number> {
  const { values } = c;
  if (!values.customer && c.explicit === undefined)
    throw new UsageError('list needs --customer (or a token that names the customer)');
  const q = new URLSearchParams(values.customer ? { customerId: values.customer } : {});
  if (values.limit !== undefined) q.set('limit', values.limit);
  if (values.cursor !== undefined) q.set('cursor', values.cursor);
  const page = await c.client.expect<{ items: Order[]; nextCursor: string | null }>(
    [200],
    'GET',
    `/api/orders?${q.toString()}`,
  );
  const rows = page.items.map(
    (o) =>
      `${o.orderId}  ${o.status.padEnd(15)}  ${formatCents(o.amount).padStart(10)}  ${o.createdAt ?? ''}`,
  );
  const more = page.nextCursor ? `more: --cursor ${page.nextCursor}\n` : '';
  c.print(
    page,
    rows.length
      ? `${rows.join('\n')}\n${more}`
      : `no orders for ${values.customer ?? 'this customer'}\n`,
  );
  return 0;
}

function watchCommand(c: Ctx): Promise<number> {
  const id = c.args[0];
  if (!id) throw new UsageError('watch needs an order id');
  return watch(c.client, id, c.values, c.io);
}

async function token(c: Ctx): Promise<number> {
  if (!c.values.customer) throw new UsageError('token needs --customer');
  if (c.tokenUrl === undefined)
    throw new UsageError(
      'token works with the local development issuer only: run make up AUTH=dev (it writes .run/endpoints.json)',
    );
  c.io.stdout(`${await devToken(c.tokenUrl, c.values.customer, c.values.staff)}\n`);
  return 0;
}

const commands: Record<string, (c: Ctx) => Promise<number>> = {
  place,
  get,
  list,
  watch: watchCommand,
  token,
};

/** The bearer token, fetched once and only when a request is made. */
function bearerOf(values: Values, explicit: string | undefined, tokenUrl: string | undefined) {
  let token: Promise<string | undefined> | undefined;
  return (): Promise<string | undefined> => {
    if (explicit !== undefined) token ??= Promise.resolve(explicit);
    else if (tokenUrl === undefined) token ??= Promise.resolve(undefined);
    else if (values.customer !== undefined)
      token ??= devToken(tokenUrl, values.customer, values.staff);
    else token ??= devToken(tokenUrl, 'orders-cli', true);
    return token;
  };
}

async function dispatch(
  command: string | undefined,
  args: string[],
  values: Values,
  io: Io,
): Promise<number> {
  if (command === undefined) throw new UsageError('no command given');
  const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!run) throw new UsageError(`unknown command "${command}"`);
  const explicit = values.token ?? (io.env['ORDERFLOW_TOKEN'] || undefined);
  const tokenUrl = devTokenUrl(io.cwd);
  const client = new Client(resolveApi(values.api, io), bearerOf(values, explicit, tokenUrl));
  const print = (value: unknown, text: string): void =>
    io.stdout(values.json ? `${JSON.stringify(value, null, 2)}\n` : text);
  return run({ args, values, io, client, explicit, tokenUrl, print });
}

/** Runs one CLI invocation and returns its exit code; never calls process.exit. */
export async function run(argv: string[], io: Io = defaultIo()): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: true,
      strict: true,
    }));
  } catch (err: unknown) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\nsee --help\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  const [command, ...args] = positionals;
  try {
    return await dispatch(command, args, values, io);
  } catch (err: unknown) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\nsee --help\n`);
      return 2;
    }
    if (err instanceof ApiCallError) {
      io.stderr(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
