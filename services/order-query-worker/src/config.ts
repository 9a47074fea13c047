import { z } from 'zod';
import { consumerServiceConfigShape } from '@orderflow/platform';

/**
 * Every environment variable of the order query worker, validated once at start. It appends
 * nothing: EVENTSTORE_ADDRESS serves `rebuild` (ReadAll), and RUNTIME_CONFIG_FILE carries only
 * its consumer's maxDeliver (the rest of its consumer's settings are the operator's, on the
 * JetStream side).
 */
export const configSchema = z.object({ ...consumerServiceConfigShape(32) });
export type Config = z.infer<typeof configSchema>;
