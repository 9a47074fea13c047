import { KubeConfig } from '@kubernetes/client-node';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectNats,
  createLogger,
  createMetricsRegistry,
  Readiness,
  startOpsServer,
  type Logger,
  type Registry,
} from '@orderflow/platform';
import { createJetStreamAdapter } from './adapters/jetstream';
import { createKubeAdapter, type KubePort } from './adapters/kube';
import type { OperatorConfig } from './config';
import { Controller } from './controller';
import { LeaderElector } from './leader';
import { createOperatorMetrics, type OperatorMetrics } from './metrics';

export interface RunningOperator {
  opsPort: number;
  controller: Controller;
  elector: LeaderElector;
  registry: Registry;
  stop(): Promise<void>;
}

/** Composition root: config in, adapters built, leader election, watch and ops server started. */
export async function startOperator(
  config: OperatorConfig,
  deps: { kubeConfig?: KubeConfig; logger?: Logger; nats?: NatsConnection } = {},
): Promise<RunningOperator> {
  const logger = deps.logger ?? createLogger('operator', config.LOG_LEVEL);
  const registry = createMetricsRegistry('operator');
  const metrics = createOperatorMetrics(registry);
  const kubeConfig = deps.kubeConfig ?? defaultKubeConfig();
  const kube = createKubeAdapter(kubeConfig);
  const nc =
    deps.nats ?? (await connectNats(config.NATS_URL, logger, `operator-${config.POD_NAME}`));
  const jetstream = createJetStreamAdapter(nc);

  const controller = new Controller({
    kube,
    jetstream,
    namespace: config.WATCH_NAMESPACE,
    resyncSeconds: config.RESYNC_SECONDS,
    logger,
    metrics,
    isLeader: () => elector.isLeader,
    watchRestartDelayMs: config.WATCH_RESTART_DELAY_SECONDS * 1000,
    expectedStream: config.NATS_STREAM,
  });
  const elector = leaderElector(kube, config, logger, metrics, controller);
  // Ready = leader or standby, as long as the watch works (a standby is ready to take over).
  const readiness = new Readiness().add('watch', () => controller.watchHealthy);
  const ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    logger,
    registry,
    readiness,
  });
  metrics.leader.set(0);
  controller.start();
  elector.start();
  readiness.started();
  logger.info({ namespace: config.WATCH_NAMESPACE, opsPort: ops.port }, 'operator started');

  return {
    opsPort: ops.port,
    controller,
    elector,
    registry,
    async stop() {
      readiness.markStopping();
      await elector.stop();
      await controller.stop();
      if (!deps.nats) await nc.drain();
      await ops.close();
    },
  };
}

/** Leader election on the release's Lease: the leader reconciles, a standby keeps its watch warm. */
function leaderElector(
  kube: KubePort,
  config: OperatorConfig,
  logger: Logger,
  metrics: OperatorMetrics,
  controller: Controller,
): LeaderElector {
  return new LeaderElector(kube, {
    namespace: config.WATCH_NAMESPACE,
    name: config.LEASE_NAME,
    identity: config.POD_NAME,
    leaseDurationSeconds: config.LEASE_DURATION_SECONDS,
    renewDeadlineSeconds: config.LEASE_RENEW_DEADLINE_SECONDS,
    retryPeriodSeconds: config.LEASE_RETRY_PERIOD_SECONDS,
    onStartedLeading: () => {
      logger.info({ identity: config.POD_NAME, lease: config.LEASE_NAME }, 'leading');
      metrics.leader.set(1);
      controller.leadershipChanged(true);
    },
    onStoppedLeading: () => {
      logger.info({ identity: config.POD_NAME }, 'standing by');
      metrics.leader.set(0);
      controller.leadershipChanged(false);
    },
    onError: (err) =>
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'leader election'),
  });
}

function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault(); // in a pod: the service account; elsewhere: KUBECONFIG or ~/.kube/config
  return kc;
}
