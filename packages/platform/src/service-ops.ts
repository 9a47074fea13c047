import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createMetricsRegistry } from './metrics';
import { startOpsServer, type OpsServer } from './ops-server';
import { Readiness } from './readiness';

export interface ServiceOps {
  registry: Registry;
  readiness: Readiness;
  ops: OpsServer;
}

/** The metrics registry, the readiness checks and the ops server every service starts first. */
export async function startServiceOps(
  name: string,
  config: { OPS_HOST: string; OPS_PORT: number },
  logger: Logger,
  readiness: Readiness = new Readiness(),
): Promise<ServiceOps> {
  const registry = createMetricsRegistry(name);
  const ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    logger,
    registry,
    readiness,
  });
  return { registry, readiness, ops };
}
