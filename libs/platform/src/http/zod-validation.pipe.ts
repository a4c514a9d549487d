import { type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { AppError, ErrorCode } from '#contracts';

/**
 * Validates a body or a message payload against its contract schema. The same pipe guards HTTP and
 * transport handlers, so a message is checked on receipt as strictly as an HTTP body. The error names
 * every offending field.
 */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const issues = result.error.issues.map((issue) => ({
      field: issue.path.length > 0 ? issue.path.map(String).join('.') : this.what,
      message: describeIssue(issue),
    }));
    const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    throw new AppError(ErrorCode.ValidationFailed, `invalid ${this.what}: ${summary}`, { issues });
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  // A refused record key hides the key schema's own message one level down.
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    return `invalid key: ${issue.issues.map((i) => i.message).join('; ')}`;
  }
  return issue.message;
}

export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.infer<S> {
  return new ZodValidationPipe(schema, what).transform(value);
}
