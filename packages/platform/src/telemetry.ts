import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

let sdk: NodeSDK | undefined;

/** Whether the standard variables ask for traces to be exported. */
const tracingConfigured = (env: Record<string, string | undefined>): boolean =>
  !!env['OTEL_EXPORTER_OTLP_ENDPOINT'] ||
  !!env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ||
  (!!env['OTEL_TRACES_EXPORTER'] && env['OTEL_TRACES_EXPORTER'] !== 'none');

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
  if (sdk) return true;
  if ((!tracingConfigured(env) && !opts.spanProcessors) || env['OTEL_SDK_DISABLED'] === 'true')
    return false;
  process.env['OTEL_SERVICE_NAME'] ??= serviceName;
  process.env['OTEL_METRICS_EXPORTER'] ??= 'none';
  process.env['OTEL_LOGS_EXPORTER'] ??= 'none';
  // Loaded only when tracing is on: the SDK and its exporters take about 24 MB of memory in every
  // process that loads them (docs/performance.md), most of a service's headroom under 200 MB.
  const { NodeSDK: Sdk } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  sdk = new Sdk({
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
