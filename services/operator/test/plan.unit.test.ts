import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JetStreamPort } from '../src/adapters/jetstream';
import { plan, readOrderFlowYaml } from '../src/plan';
import { consumer, inSync } from './helpers/fixtures';

const example = readFileSync(join(__dirname, '../../../k8s/examples/orderflow.yaml'), 'utf8');

/** Plan mode only observes; any write would be a bug. */
function readOnly(observed = inSync().jetstream): JetStreamPort {
  const refuse = () => Promise.reject(new Error('plan mode must not write'));
  return {
    observe: () => Promise.resolve(observed),
    createStream: refuse,
    updateStream: refuse,
    createConsumer: refuse,
    updateConsumer: refuse,
  };
}

describe('plan mode', () => {
  it('when the file holds other documents too, then the OrderFlow is picked and defaulted', () => {
    const resource = readOrderFlowYaml(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n${example}`,
    );
    expect(resource.metadata.name).toBe('orderflow');
    expect(
      readOrderFlowYaml('apiVersion: orderflow.io/v1alpha1\nkind: OrderFlow\nmetadata: {name: a}\n')
        .spec.eventBus.streamName,
    ).toBe('ORDERS');
    expect(() => readOrderFlowYaml('kind: ConfigMap\n')).toThrow(/no OrderFlow/);
  });

  it('when JetStream differs from the file, then the changes and the Kubernetes writes are listed and nothing is written', async () => {
    const observed = inSync().jetstream;
    if (observed.reachable)
      observed.consumers['order-query'] = consumer('order-query', {
        numPending: 1200,
        numAckPending: 300,
      });
    const text = await plan(readOrderFlowYaml(example), readOnly(observed), 'nats://nats:4222');

    expect(text).toContain('OrderFlow orderflow/orderflow (plan: nothing is changed)');
    expect(text).toContain('update consumer ORDERS/order-query: maxAckPending 256 -> 1024');
    expect(text).toContain(
      'create or replace ConfigMap orderflow/orderflow-runtime, key runtime.json',
    );
    expect(text).toContain('"paymentTimeoutMs": 30000');
    expect(text).toContain(
      'scale Deployment orderflow/orderflow-order-query-worker to 3 replicas (lag 1500 at 500 per replica',
    );
  });
});
