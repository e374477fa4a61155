import { z } from 'zod';
import { jsonOf } from '../../../lambdas/shared/json-text';

describe('jsonOf', () => {
  const schema = z.strictObject({ n: z.number().transform((n) => n * 2) });

  it('reads JSON text of the shape, as the schema outputs it', () => {
    expect(jsonOf(schema, '{"n": 2}')).toEqual({ n: 4 });
  });

  it('answers undefined for text that is not JSON, not of the shape, or absent', () => {
    for (const text of ['{"n": ', '{"n": "2"}', '{"n": 2, "m": 1}', '', undefined])
      expect(jsonOf(schema, text)).toBeUndefined();
  });
});
