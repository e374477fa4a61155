/** A bad command line: nothing was done; `dr` exits 2. Its message names the option, never the value given. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
