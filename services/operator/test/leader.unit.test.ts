import type { KubePort, LeaseRecord } from '../src/adapters/kube';
import { LeaderElector } from '../src/leader';

/** The Lease endpoints with optimistic concurrency, in memory. */
function leaseStore(): Pick<KubePort, 'readLease' | 'createLease' | 'replaceLease'> & {
  current: () => LeaseRecord | null;
} {
  let lease: LeaseRecord | null = null;
  let rv = 0;
  return {
    current: () => lease,
    readLease: () => Promise.resolve(lease ? { ...lease } : null),
    createLease: (_ns, _name, l) => {
      if (lease) return Promise.resolve(false);
      lease = { ...l, resourceVersion: String(++rv) };
      return Promise.resolve(true);
    },
    replaceLease: (_ns, _name, l) => {
      if (!lease || l.resourceVersion !== lease.resourceVersion) return Promise.resolve(false);
      lease = { ...l, resourceVersion: String(++rv) };
      return Promise.resolve(true);
    },
  };
}

function elector(store: ReturnType<typeof leaseStore>, identity: string, clock: { now: number }) {
  return new LeaderElector(store, {
    namespace: 'prod',
    name: 'orderflow-operator',
    identity,
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
    onStartedLeading: () => undefined,
    onStoppedLeading: () => undefined,
    now: () => clock.now,
  });
}

describe('LeaderElector', () => {
  it('when two candidates try, then only the first wins and the second waits while the Lease is renewed', async () => {
    const store = leaseStore();
    const clock = { now: 1_000_000 };
    const a = elector(store, 'a', clock);
    const b = elector(store, 'b', clock);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    for (let i = 0; i < 10; i++) {
      clock.now += 2000;
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
    }
    expect(store.current()?.holder).toBe('a');
  });

  it('when the leader stops renewing, then the other takes the Lease only after a full lease duration it observed', async () => {
    const store = leaseStore();
    const clock = { now: 1_000_000 };
    const a = elector(store, 'a', clock);
    const b = elector(store, 'b', clock);
    await a.tryAcquireOrRenew();
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.now += 14_000;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.now += 1_000;
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(store.current()).toMatchObject({ holder: 'b', transitions: 1 });
  });
});
