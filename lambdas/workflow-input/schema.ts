import { z } from 'zod';
import { databaseRefSchema } from '../shared/database-ref';
import {
  databaseName,
  hostedZoneId,
  hostName,
  lowerIdentifier,
  rdsInstanceIdentifier,
} from '../shared/schemas';

const host = hostName;
const rdsId = rdsInstanceIdentifier;

/** Route 53 set identifiers as this toolkit names them (`<record>-primary`): no control or shell characters. */
export const setIdentifier = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, {
  error: 'must be 1-128 letters, digits, dots, colons, underscores or hyphens',
});

/** The blue-green workflow's input fields (its rules across fields are blueGreenInputSchema's). */
const blueGreenFields = z.strictObject({
  dryRun: z.boolean(),
  blue: databaseRefSchema,
  green: databaseRefSchema,
  blueEndpoint: z.union([z.literal(''), host]),
  greenEndpoint: z.union([z.literal(''), host]),
  dns: z.strictObject({
    hostedZoneId: hostedZoneId,
    recordName: host,
    setIdentifier: setIdentifier,
    secondarySetIdentifier: setIdentifier,
  }),
  smokeTestUrl: z
    .url({ error: 'must be an http(s) URL' })
    .refine((u) => /^https?:\/\/[^/@]+(\/|$)/.test(u), {
      error: 'must be an http(s) URL without credentials',
    })
    .optional(),
  subscription: lowerIdentifier,
  catchUpTimeoutMs: z.number().int().min(100).max(600_000),
  allowUnsynchronizedFlip: z.boolean().optional(),
  rebuildDr: z.boolean().optional(),
  greenInstanceIdentifier: rdsId.optional(),
  /** Blue's RDS instance: with the way back, the instance retired when its window closes. */
  blueInstanceIdentifier: rdsId.optional(),
  drReplicaInstanceIdentifier: rdsId.optional(),
  /**
   * After the flip, blue keeps following green (the way back), for a rollback within the window; null: none.
   * The cutover refuses, before fencing, a migration that makes it impossible.
   */
  wayBack: z
    .strictObject({
      replicationSecretId: databaseRefSchema.shape.secretId,
      publication: lowerIdentifier.optional(),
      subscription: lowerIdentifier.optional(),
    })
    .nullable()
    .optional(),
  /**
   * A rollback: `green` is the previous writer, following `blue` (the current one) by the way back, and
   * `subscription` is the way back's. Nothing is planned, migrated or verified on it; the cutover compares the
   * tables the way back carries.
   */
  rollback: z.boolean().optional(),
  /** Set by a parent execution (green provisioning) so the console links the two: Step Functions' own key. */
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z
    .string()
    .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_:.-]+$/, {
      error: 'must be a Step Functions execution ARN',
    })
    .optional(),
});

/** The blue-green workflow's input: secret references and names only, never a password. */
export const blueGreenInputSchema = blueGreenFields.superRefine((input, ctx) => {
  if (input.rollback === true && input.dryRun)
    ctx.addIssue({ code: 'custom', path: ['rollback'], message: 'cannot be a dry run' });
  if (!input.dryRun) {
    for (const key of ['blueEndpoint', 'greenEndpoint'] as const) {
      if (input[key] === '')
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required unless dryRun' });
    }
    // The cutover records green as the writer in the topology, by its instance identifier.
    if (input.greenInstanceIdentifier === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['greenInstanceIdentifier'],
        message: 'is required unless dryRun',
      });
  }
  // With the way back, the workflow schedules blue's retirement for when its window closes: by its instance.
  if (!input.dryRun && input.wayBack != null && input.blueInstanceIdentifier === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['blueInstanceIdentifier'],
      message: 'is required with the way back',
    });
  if (input.rebuildDr === true) {
    for (const key of ['greenInstanceIdentifier', 'drReplicaInstanceIdentifier'] as const) {
      if (input[key] === undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required with rebuildDr' });
    }
  }
});
export type BlueGreenInput = z.infer<typeof blueGreenInputSchema>;

/**
 * The green provisioning workflow's input: blue (the topology's writer), the green to create and its DR replica,
 * the application database, the replication user's secret, and the migration to run once green is in sync
 * (the migration's input without green's fields, which the workflow fills in; never a dry run).
 */
export const greenProvisioningInputSchema = z.strictObject({
  blueInstanceIdentifier: rdsId,
  greenInstanceIdentifier: rdsId,
  greenReplicaInstanceIdentifier: rdsId,
  database: databaseName,
  replicationSecretId: databaseRefSchema.shape.secretId,
  migration: blueGreenFields
    .omit({
      green: true,
      greenEndpoint: true,
      greenInstanceIdentifier: true,
      blueInstanceIdentifier: true,
      drReplicaInstanceIdentifier: true,
      rebuildDr: true,
      allowUnsynchronizedFlip: true,
      AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: true,
      rollback: true,
    })
    .extend({
      dryRun: z.literal(false, { error: 'must be false: a provisioned green is migrated' }),
      blueEndpoint: host,
      // Green has only what the migrations make: the application's own roles and grants are not copied, and the
      // smoke test after the flip is what catches an application that cannot use green (the record goes back).
      smokeTestUrl: blueGreenFields.shape.smokeTestUrl.unwrap(),
    }),
});
export type GreenProvisioningInput = z.infer<typeof greenProvisioningInputSchema>;

/**
 * The blue retirement workflow's input, as the migration starts it after a cutover with the way back: the
 * previous writer (retiring) and the writer, by instance, secret and endpoint, the way back's names, and what a
 * rollback needs besides (`dr migrate rollback` reads it from the waiting retirement). `now`: no window
 * (`dr migrate finish`).
 */
export const blueRetirementInputSchema = z.strictObject({
  instanceIdentifier: rdsId,
  writerInstanceIdentifier: rdsId,
  retiring: databaseRefSchema,
  writer: databaseRefSchema,
  retiringEndpoint: host,
  writerEndpoint: host,
  wayBack: blueGreenFields.shape.wayBack.unwrap().unwrap(),
  dns: blueGreenFields.shape.dns,
  catchUpTimeoutMs: blueGreenFields.shape.catchUpTimeoutMs,
  now: z.boolean().optional(),
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID:
    blueGreenFields.shape.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID,
});
export type BlueRetirementInput = z.infer<typeof blueRetirementInputSchema>;
