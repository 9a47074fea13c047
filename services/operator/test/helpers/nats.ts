import { startNats } from '@orderflow/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** A nats-server of our own (testkit: free port, never 4222, own store folder). */
export interface TestNats {
  url: string;
  connect(): Promise<NatsConnection>;
  stop(): Promise<void>;
}

export async function startTestNats(): Promise<TestNats> {
  const server = await startNats();
  return {
    url: server.url,
    connect: () => connect({ servers: server.url }),
    stop: () => server.stop(),
  };
}
