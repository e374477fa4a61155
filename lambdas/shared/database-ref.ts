import { z } from 'zod';
import { hostName } from './schemas';

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/**
 * How a workflow names a database: a Secrets Manager secret (ARN or name) holding the credentials, never a
 * connection string. Host, port and database may override the secret's (e.g. a replica of the same cluster).
 */
export const databaseRefSchema = z.strictObject({
  secretId: z
    .string({ error: 'must be a Secrets Manager secret ARN or name' })
    .refine((v) => SECRET_ARN.test(v) || SECRET_NAME.test(v), {
      error: 'must be a Secrets Manager secret ARN or name, never a connection string or password',
    }),
  host: hostName.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  database: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/, { error: 'must be a database name' })
    .optional(),
});
export type DatabaseRef = z.infer<typeof databaseRefSchema>;
