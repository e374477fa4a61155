/** Prisma's error codes for what the engine refuses or reports, so operators can look them up. */
export type MigrationsErrorCode =
  'P1002' | 'P3005' | 'P3008' | 'P3009' | 'P3011' | 'P3012' | 'P3015' | 'P3017' | 'P3018' | 'P3019';

/** A refusal or failure with Prisma's error code, so operators can look it up. */
export class MigrationsError extends Error {
  override readonly name = 'MigrationsError';
  constructor(
    readonly code: MigrationsErrorCode,
    message: string,
    readonly migration?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
