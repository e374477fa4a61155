/** Healthy while more than 18% of Route 53's checkers report success (Route 53's own rule). */
export function healthyFraction(observations: { StatusReport?: { Status?: string } }[]): number {
  if (observations.length === 0) return 0;
  return (
    observations.filter((o) => o.StatusReport?.Status?.startsWith('Success') === true).length /
    observations.length
  );
}
