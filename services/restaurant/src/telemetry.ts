// Loaded first by main.ts, so that tracing is set up before any instrumented module runs.
import { startTelemetry } from '@orderflow/platform';

startTelemetry('restaurant');
