import { createServer } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import {
  grpcServerMetrics,
  serverMiddleware,
  type Logger,
  type Readiness,
  type Registry,
} from '@orderflow/platform';
import { EventStoreDefinition } from '@orderflow/proto';
import type { PgEventStore } from '../adapters/pg-event-store';
import { eventStoreService } from '../grpc-service';
import { ServerEventStoreDefinition } from '../wire';

export interface GrpcServer {
  port: number;
  /** Starts mirroring the readiness checks in the health service (once the service started). */
  startHealth(): Promise<void>;
  /** Unhealthy, AppendToStreams calls answer what they read and end, then the server shuts down. */
  stop(): Promise<void>;
}

/**
 * The gRPC server: the EventStore service behind the tracing and metrics middleware, and the
 * standard health service, which mirrors the readiness checks (every 2 s, from `startHealth`).
 */
export async function startGrpcServer(opts: {
  store: PgEventStore;
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
  host: string;
  port: number;
}): Promise<GrpcServer> {
  const { registry, logger, readiness } = opts;
  const healthState = HealthState();
  const grpcMetrics = grpcServerMetrics(registry);
  const onUnexpected = (err: unknown, method: string): void =>
    logger.error({ err, method }, 'unexpected error in gRPC handler');
  const stopping = new AbortController();
  const server = createServer({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 }).use(
    serverMiddleware(grpcMetrics, onUnexpected),
  );
  const service = { grpcMetrics, onUnexpected, stopping: stopping.signal };
  server.add(ServerEventStoreDefinition, eventStoreService(opts.store, registry, service));
  server.add(HealthDefinition, HealthServiceImpl(healthState));
  const port = await server.listen(`${opts.host}:${opts.port}`);
  logger.info({ port, host: opts.host }, 'gRPC server listening');
  const syncHealth = async (): Promise<void> => {
    const r = await readiness.report();
    healthState.setStatus(r.ready ? 'healthy' : 'unhealthy');
    healthState.setStatus(r.ready ? 'healthy' : 'unhealthy', EventStoreDefinition.fullName);
  };
  let healthTimer: NodeJS.Timeout | undefined;
  return {
    port,
    async startHealth() {
      await syncHealth();
      healthTimer = setInterval(() => void syncHealth(), 2_000);
      healthTimer.unref();
    },
    async stop() {
      clearInterval(healthTimer);
      healthState.setStatus('unhealthy');
      stopping.abort(); // AppendToStreams calls answer what they read and end, so shutdown can finish
      await server.shutdown();
    },
  };
}
