/** The `dr` CLI's exit codes, and how a command asks for one without printing an error. */

export const EXIT_OK = 0;
/** The operation ran and failed, or found something that needs an operator (pending, failed, blocked). */
export const EXIT_FAILED = 1;
/** Bad options: nothing was done. */
export const EXIT_USAGE = 2;
/** AWS is not set up for this shell (no region, or no credentials): nothing was done. */
export const EXIT_AWS_SETUP = 3;

/** Thrown by a command that printed its result and must end with `exitCode`. */
export class ExitRequest extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
