/**
 * Case counts of the property-based (fuzz) tests: modest in `make test`, more with `make fuzz`
 * (FUZZ_RUNS=<n>), and a seed to replay a failure (FUZZ_SEED, printed by fast-check on failure).
 */
export function fuzzRuns(fallback: number): number {
  const n = Number(process.env['FUZZ_RUNS']);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export function fuzzSeed(): number | undefined {
  const n = Number(process.env['FUZZ_SEED']);
  return process.env['FUZZ_SEED'] !== undefined && Number.isInteger(n) ? n : undefined;
}
