/** Waits `ms` milliseconds; steps take it as an injectable dependency so tests can advance a fake clock instead. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
