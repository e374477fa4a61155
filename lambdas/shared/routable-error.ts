/**
 * A failure Step Functions can route on: its `name` is the error type a state's Catch matches (`GreenDiverged`,
 * `RecordNotFound`), its message says what happened and never holds a secret. `cause` keeps the original
 * error and its stack; it is never logged or returned to Step Functions as such (toStepError keeps it only
 * when the message needed no redaction). Every step's error class extends this, and the step runner maps it
 * to the step's error without a catch block of its own.
 */
export class RoutableError<Name extends string = string> extends Error {
  declare readonly name: Name;

  constructor(name: Name, message: string, options?: ErrorOptions) {
    super(message, options);
    Object.defineProperty(this, 'name', {
      value: name,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}
