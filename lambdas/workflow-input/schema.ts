import { z } from 'zod';
import { databaseRefSchema } from '../shared/database-ref';
import { hostedZoneId, hostName, lowerIdentifier, rdsInstanceIdentifier } from '../shared/schemas';

const host = hostName;
const rdsId = rdsInstanceIdentifier;

/** Route 53 set identifiers as this toolkit names them (`<record>-primary`): no control or shell characters. */
export const setIdentifier = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, {
  error: 'must be 1-128 letters, digits, dots, colons, underscores or hyphens',
});

/** The blue-green workflow's input: secret references and names only, never a password. */
export const blueGreenInputSchema = z
  .strictObject({
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
    drReplicaInstanceIdentifier: rdsId.optional(),
  })
  .superRefine((input, ctx) => {
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
    if (input.rebuildDr === true) {
      for (const key of ['greenInstanceIdentifier', 'drReplicaInstanceIdentifier'] as const) {
        if (input[key] === undefined)
          ctx.addIssue({ code: 'custom', path: [key], message: 'is required with rebuildDr' });
      }
    }
  });
export type BlueGreenInput = z.infer<typeof blueGreenInputSchema>;
