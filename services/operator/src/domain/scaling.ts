import type { Recommendation, ScaleHistory } from './types';

export interface ScalingPolicy {
  minReplicas: number;
  maxReplicas: number;
  targetLagPerReplica: number;
  scaleDownStabilizationSeconds: number;
}

export type ScaleReason =
  'ScaledUp' | 'ScaledDown' | 'Stable' | 'ScaleDownStabilizing' | 'LimitedByMax';

export interface ScaleDecision {
  /** clamp(ceil(lag / targetLagPerReplica), min, max): what the lag asks for right now. */
  recommended: number;
  /** What the Deployment should run after stabilization. */
  target: number;
  reason: ScaleReason;
  history: ScaleHistory;
}

const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

export function recommendReplicas(lag: number, policy: ScalingPolicy): number {
  return clamp(Math.ceil(lag / policy.targetLagPerReplica), policy.minReplicas, policy.maxReplicas);
}

/**
 * The HPA's scale-down stabilization: scale up at once; scale down only to the highest
 * recommendation seen within the window, and only once the window is covered by recommendations
 * this process has made (after a restart the operator waits a full window before scaling down).
 */
export function decideScale(
  current: number,
  lag: number,
  policy: ScalingPolicy,
  history: ScaleHistory | undefined,
  now: number,
): ScaleDecision {
  const windowMs = policy.scaleDownStabilizationSeconds * 1000;
  const recommended = recommendReplicas(lag, policy);
  const since = history?.since ?? now;
  const recent: Recommendation[] = (history?.recommendations ?? []).filter(
    (r) => r.at > now - windowMs,
  );
  recent.push({ at: now, replicas: recommended });
  const nextHistory: ScaleHistory = { since, recommendations: recent };

  const covered = now - since >= windowMs;
  const highest = Math.max(...recent.map((r) => r.replicas));
  const stabilized =
    recommended >= current ? recommended : covered ? Math.min(current, highest) : current;
  const target = clamp(stabilized, policy.minReplicas, policy.maxReplicas);

  let reason: ScaleReason;
  if (target > current) reason = 'ScaledUp';
  else if (target < current) reason = 'ScaledDown';
  else if (recommended < current) reason = 'ScaleDownStabilizing';
  else reason = 'Stable';
  if (
    Math.ceil(lag / policy.targetLagPerReplica) > policy.maxReplicas &&
    target === policy.maxReplicas
  )
    reason = 'LimitedByMax';
  return { recommended, target, reason, history: nextHistory };
}
