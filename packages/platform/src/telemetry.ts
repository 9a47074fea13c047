import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

let sdk: NodeSDK | undefined;

/**
 * Starts the OpenTelemetry SDK when tracing is configured by the standard variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
 * `OTEL_TRACES_EXPORTER`), and does nothing otherwise. Loaded by each service's `telemetry.ts`
 * before anything else. Only traces are exported: metrics are Prometheus' job, and unused
 * exporters set to `none` keep `shutdown()` fast.
 */
export function startTelemetry(
  serviceName: string,
  opts: { env?: Record<string, string | undefined>; spanProcessors?: SpanProcessor[] } = {},
): boolean {
  const env = opts.env ?? process.env;
  const configured =
    !!env['OTEL_EXPORTER_OTLP_ENDPOINT'] ||
    !!env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ||
    (!!env['OTEL_TRACES_EXPORTER'] && env['OTEL_TRACES_EXPORTER'] !== 'none');
  if (sdk || (!configured && !opts.spanProcessors) || env['OTEL_SDK_DISABLED'] === 'true')
    return !!sdk;
  process.env['OTEL_SERVICE_NAME'] ??= serviceName;
  process.env['OTEL_METRICS_EXPORTER'] ??= 'none';
  process.env['OTEL_LOGS_EXPORTER'] ??= 'none';
  sdk = new NodeSDK({
    serviceName: env['OTEL_SERVICE_NAME'] ?? serviceName,
    ...(opts.spanProcessors ? { spanProcessors: opts.spanProcessors } : {}),
    instrumentations: [],
  });
  sdk.start();
  return true;
}

export async function stopTelemetry(): Promise<void> {
  const s = sdk;
  sdk = undefined;
  await s?.shutdown().catch(() => undefined);
}
