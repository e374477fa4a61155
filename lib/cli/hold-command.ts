import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetHealthCheckCommand, Route53Client, UpdateHealthCheckCommand } from '@aws-sdk/client-route-53';
import type { Command } from 'commander';
import { sleep as defaultSleep } from '../../lambdas/shared/sleep';
import { defaultFromConfig, FROM_CONFIG } from './config-defaults';
import { stackOutput } from './stack-output';
import { healthCheckId, regionName, stackName } from './option-values';

/** The output of the failover DNS stack that names the PRIMARY record's check. */
export const PRIMARY_RECORD_CHECK_OUTPUT = 'PrimaryRecordHealthCheckId';

export interface HoldIo {
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
  readonly route53: Pick<Route53Client, 'send'>;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface HoldOptions {
  release?: boolean;
  stack: string;
  healthCheckId?: string;
  region: string;
  json?: boolean;
}

export interface HoldResult {
  readonly healthCheckId: string;
  readonly held: boolean;
  readonly changed: boolean;
  /** The check was inverted when held (a drill of the production record?): the hold set it back. */
  readonly wasInverted: boolean;
}

/** Adds `dr hold` and `dr hold --release`. */
export function addHoldCommand(program: Command, action: (options: HoldOptions) => Promise<void>): void {
  program
    .command('hold')
    .description(
      'Pin the PRIMARY record on the primary during a known blip: its health check is disabled (Route 53 then ' +
        'treats it as healthy) and not inverted, so nothing fails over automatically until --release. A real ' +
        'loss of the primary is NOT failed over while held.',
    )
    .option('--release', 'enable the check again: the observers decide again')
    .option(
      '--stack <name>',
      `failover DNS stack whose ${PRIMARY_RECORD_CHECK_OUTPUT} output names the check (default: from the config, else this)`,
      stackName(),
      'pg-dr-failover-dns',
    )
    .option('--health-check-id <id>', 'the PRIMARY record check (default: the stack output)', healthCheckId())
    .option('--region <region>', 'region of the failover DNS stack', regionName(), 'us-east-1')
    .option('--json', 'print one machine-readable JSON result')
    .action(action);
  const hold = program.commands.find((c) => c.name() === 'hold');
  if (hold !== undefined) defaultFromConfig(hold, 'stack', FROM_CONFIG.failoverDnsStack);
}

async function primaryRecordCheck(options: HoldOptions, io: HoldIo): Promise<string> {
  if (options.healthCheckId !== undefined) return options.healthCheckId;
  return stackOutput(
    io.cloudFormation,
    options.stack,
    PRIMARY_RECORD_CHECK_OUTPUT,
    ': deploy the app, or give --health-check-id',
  );
}

/**
 * Holds (or releases) DNS on the primary. Idempotent; a concurrent change of the check (HealthCheckVersion
 * mismatch) is read again and retried, a few times.
 */
export async function holdPrimary(options: HoldOptions, io: HoldIo): Promise<HoldResult> {
  const sleep = io.sleep ?? defaultSleep;
  const id = await primaryRecordCheck(options, io);
  const hold = options.release !== true;
  for (let attempt = 1; ; attempt++) {
    const { HealthCheck } = await io.route53.send(new GetHealthCheckCommand({ HealthCheckId: id }));
    const config = HealthCheck?.HealthCheckConfig;
    const disabled = config?.Disabled === true;
    const inverted = config?.Inverted === true;
    const done = hold ? disabled && !inverted : !disabled;
    if (done) return { healthCheckId: id, held: hold, changed: false, wasInverted: false };
    try {
      await io.route53.send(
        new UpdateHealthCheckCommand({
          HealthCheckId: id,
          HealthCheckVersion: HealthCheck?.HealthCheckVersion,
          // Disabled and inverted, Route 53 calls a check unhealthy: a hold must clear the inversion.
          ...(hold ? { Disabled: true, Inverted: false } : { Disabled: false }),
        }),
      );
      return { healthCheckId: id, held: hold, changed: true, wasInverted: hold && inverted };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== 'HealthCheckVersionMismatch' || attempt >= 3) throw error;
      await sleep(500 * attempt);
    }
  }
}

/** What `dr hold` prints. */
export function describeHold(result: HoldResult): string {
  if (result.held)
    return [
      result.changed
        ? `PRIMARY held: health check ${result.healthCheckId} disabled, so Route 53 treats the primary as healthy.`
        : `PRIMARY was already held (health check ${result.healthCheckId} disabled): nothing changed.`,
      ...(result.wasInverted
        ? ['It was inverted (a drill of the production record?): the hold set it back to not inverted.']
        : []),
      'Automatic failover is OFF. A real loss of the primary is not failed over until: dr hold --release',
    ].join('\n');
  return result.changed
    ? `PRIMARY released: health check ${result.healthCheckId} enabled; the observers decide again.`
    : `PRIMARY was not held (health check ${result.healthCheckId} enabled): nothing changed.`;
}

export function defaultHoldIo(region: string): HoldIo {
  return {
    cloudFormation: new CloudFormationClient({ region }),
    // Route 53's API lives in us-east-1.
    route53: new Route53Client({ region: 'us-east-1' }),
  };
}
