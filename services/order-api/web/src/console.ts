// The orderflow console: place an order from a menu, follow it live, list a customer's orders.
// Plain TypeScript and the DOM, bundled by esbuild at build time (scripts/build-console.mjs).
import {
  ApiProblem,
  call,
  describeProblem,
  devToken,
  subjectOf,
  type AuthMode,
  type Session,
} from './api';
import { follow, type FeedMessage, type Following } from './follow';
import { eventLabel, formatCents, formatTime, pathOf } from './format';

interface MenuItem {
  code: string;
  name: string;
  priceCents: number;
}
interface Restaurant {
  id: string;
  name: string;
  open: boolean;
  menu: MenuItem[];
}
interface OrderView {
  orderId: string;
  restaurantId: string;
  amount: number;
  status: string;
  createdAt: string;
  cancellationReason?: string;
  refunded: boolean;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el as T;
};
const meta = (name: string): string =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';

const mode = (
  ['none', 'dev', 'oidc'].includes(meta('orderflow-auth')) ? meta('orderflow-auth') : 'none'
) as AuthMode;
const issuer = meta('orderflow-issuer');
const session: Session = { mode, customer: '', token: '' };
let restaurants: Restaurant[] = [];
let following: Following | undefined;

const errorText = (err: unknown): string =>
  err instanceof ApiProblem
    ? describeProblem(err.problem)
    : err instanceof Error
      ? err.message
      : String(err);

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// ---- who you are ----------------------------------------------------------------------------

function setUpIdentity(): void {
  const note = $('auth-note');
  const customer = $<HTMLInputElement>('customer');
  const token = $<HTMLTextAreaElement>('token');
  customer.value = localStorage.getItem('orderflow.customer') ?? 'c1';
  token.value = sessionStorage.getItem('orderflow.token') ?? '';
  if (mode === 'none') {
    note.textContent = 'This API runs without authentication: type the customer you order as.';
  } else {
    $('token-field').hidden = false;
    if (mode === 'dev') {
      $('dev-token').hidden = false;
      note.textContent =
        'This API wants a bearer token. The development issuer gives one for the customer id below.';
    } else {
      $('customer-field').hidden = true;
      note.textContent =
        'This API wants a bearer token from its identity provider: paste it. Its subject is the customer.';
    }
  }
  $('use-identity').addEventListener('click', () => void useIdentity());
  $('dev-token').addEventListener('click', () => void getDevToken());
}

async function getDevToken(): Promise<void> {
  const status = $('who-status');
  try {
    $<HTMLTextAreaElement>('token').value = await devToken(
      issuer,
      $<HTMLInputElement>('customer').value.trim(),
    );
    await useIdentity();
  } catch (err: unknown) {
    status.textContent = errorText(err);
  }
}

async function useIdentity(): Promise<void> {
  const status = $('who-status');
  const token = $<HTMLTextAreaElement>('token').value.trim();
  const typed = $<HTMLInputElement>('customer').value.trim();
  session.token = mode === 'none' ? '' : token;
  session.customer = mode === 'none' ? typed : (subjectOf(token) ?? typed);
  if (!session.customer && !session.token) {
    status.textContent = mode === 'none' ? 'Type a customer id.' : 'Paste or get a token.';
    return;
  }
  localStorage.setItem('orderflow.customer', typed);
  if (session.token) sessionStorage.setItem('orderflow.token', session.token);
  status.textContent = `Ordering as ${session.customer || 'the token’s customer'}.`;
  await loadMenus();
  await refreshOrders();
}

// ---- the menu and placing an order ------------------------------------------------------------

async function loadMenus(): Promise<void> {
  const menu = $('menu');
  try {
    ({ restaurants } = await call<{ restaurants: Restaurant[] }>(
      session,
      'GET',
      '/api/restaurants',
    ));
  } catch (err: unknown) {
    menu.replaceChildren(el('legend', 'Menu'), el('p', errorText(err), 'error'));
    return;
  }
  const select = $<HTMLSelectElement>('restaurant');
  const chosen = select.value;
  select.replaceChildren(
    ...restaurants.map((r) => {
      const o = el('option', r.open ? r.name : `${r.name} (closed)`);
      o.value = r.id;
      return o;
    }),
  );
  if (restaurants.some((r) => r.id === chosen)) select.value = chosen;
  showMenu();
}

function showMenu(): void {
  const r = restaurants.find((x) => x.id === $<HTMLSelectElement>('restaurant').value);
  const rows = (r?.menu ?? []).map((item) => {
    const row = el('div', undefined, 'item');
    const label = el('label', `${item.name} — ${formatCents(item.priceCents)}`);
    label.htmlFor = `qty-${item.code}`;
    const input = el('input');
    Object.assign(input, {
      type: 'number',
      id: `qty-${item.code}`,
      min: '0',
      max: '100',
      value: '0',
    });
    input.dataset['code'] = item.code;
    input.dataset['price'] = String(item.priceCents);
    input.inputMode = 'numeric';
    input.addEventListener('input', showTotal);
    row.append(label, input);
    return row;
  });
  $('menu').replaceChildren(el('legend', r ? `Menu of ${r.name}` : 'Menu'), ...rows);
  showTotal();
}

function chosenItems(): { code: string; quantity: number; price: number }[] {
  return [...document.querySelectorAll<HTMLInputElement>('#menu input[data-code]')]
    .map((i) => ({
      code: i.dataset['code'] ?? '',
      quantity: Number(i.value),
      price: Number(i.dataset['price']),
    }))
    .filter((i) => Number.isInteger(i.quantity) && i.quantity > 0);
}

function showTotal(): void {
  const total = chosenItems().reduce((sum, i) => sum + i.price * i.quantity, 0);
  $('total').textContent = `Total ${formatCents(total)}`;
}

async function placeOrder(e: SubmitEvent): Promise<void> {
  e.preventDefault();
  const error = $('order-error');
  error.textContent = '';
  const items = chosenItems().map(({ code, quantity }) => ({ code, quantity }));
  if (items.length === 0) {
    error.textContent = 'Choose at least one item (a quantity above 0).';
    return;
  }
  const body = {
    ...(mode === 'none' ? { customerId: session.customer } : {}),
    restaurantId: $<HTMLSelectElement>('restaurant').value,
    items,
  };
  try {
    const placed = await call<{ orderId: string }>(session, 'POST', '/api/orders', body);
    startFollowing(placed.orderId);
    void refreshOrders();
  } catch (err: unknown) {
    error.textContent = errorText(err);
  }
}

// ---- following an order live -------------------------------------------------------------------

function startFollowing(orderId: string): void {
  following?.close();
  $('follow-empty').hidden = true;
  $('follow-body').hidden = false;
  $('follow-id').textContent = orderId;
  $('status').textContent = '…';
  $('status').dataset['status'] = '';
  $('events').querySelector('tbody')?.replaceChildren();
  $('steps').replaceChildren();
  const seen: string[] = [];
  const note = $('follow-note');
  following = follow(session, orderId, {
    message: (m) => {
      if (!seen.includes(m.order.status)) seen.push(m.order.status);
      showMessage(m, seen);
    },
    state: (s, detail) => {
      note.textContent =
        s === 'open'
          ? 'Live.'
          : s === 'reconnecting'
            ? 'Connection lost; reconnecting…'
            : s === 'closed'
              ? 'Final state reached.'
              : `Stopped following (${detail ?? 'error'}).`;
      if (s === 'closed') void refreshOrders();
    },
  });
}

function showMessage(m: FeedMessage, seen: string[]): void {
  const status = $('status');
  const o = m.order;
  status.textContent = `${o.status}${o.cancellationReason ? ` (${o.cancellationReason})` : ''}${o.refunded ? ', refunded' : ''}`;
  status.dataset['status'] = o.status;
  const tbody = $('events').querySelector('tbody');
  for (const e of m.events) {
    const row = el('tr');
    const time = el('time', formatTime(e.createdAt));
    time.dateTime = e.createdAt;
    const cell = el('td');
    cell.append(time);
    row.append(
      el('td', String(e.version)),
      el('td', eventLabel(e.type)),
      cell,
      el('td', e.reason ?? ''),
    );
    tbody?.append(row);
  }
  const path = pathOf(seen);
  const now = path.indexOf(o.status);
  const steps = path.map((s, i) => {
    const li = el('li', s, i === now ? 'step current' : i < now ? 'step done' : 'step');
    if (i === now) li.setAttribute('aria-current', 'step');
    return li;
  });
  $('steps').replaceChildren(...steps);
}

// ---- the customer's orders ----------------------------------------------------------------------

async function refreshOrders(): Promise<void> {
  const error = $('orders-error');
  error.textContent = '';
  if (!session.customer && !session.token) return;
  const query =
    mode === 'none' ? `?customerId=${encodeURIComponent(session.customer)}&limit=20` : '?limit=20';
  try {
    const page = await call<{ items: OrderView[] }>(session, 'GET', `/api/orders${query}`);
    $('order-list')
      .querySelector('tbody')
      ?.replaceChildren(...page.items.map(orderRow));
  } catch (err: unknown) {
    error.textContent = errorText(err);
  }
}

function orderRow(o: OrderView): HTMLTableRowElement {
  const row = el('tr');
  const when = el(
    'time',
    `${new Date(o.createdAt).toLocaleDateString()} ${formatTime(o.createdAt)}`,
  );
  when.dateTime = o.createdAt;
  const placed = el('td');
  placed.append(when);
  const button = el('button', 'Follow');
  button.type = 'button';
  button.setAttribute('aria-label', `Follow order ${o.orderId}`);
  button.addEventListener('click', () => startFollowing(o.orderId));
  const action = el('td');
  action.append(button);
  const status = `${o.status}${o.cancellationReason ? ` (${o.cancellationReason})` : ''}`;
  row.append(
    placed,
    el('td', o.restaurantId),
    el('td', formatCents(o.amount)),
    el('td', status),
    action,
  );
  return row;
}

function main(): void {
  setUpIdentity();
  $<HTMLSelectElement>('restaurant').addEventListener('change', showMenu);
  $<HTMLFormElement>('order-form').addEventListener('submit', (e) => void placeOrder(e));
  $('refresh').addEventListener('click', () => void refreshOrders());
  // Without authentication (or with a token kept from before) the menu shows at once.
  if (mode === 'none' || $<HTMLTextAreaElement>('token').value.trim()) void useIdentity();
}

main();
