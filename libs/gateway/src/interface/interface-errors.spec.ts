import { describe, expect, it } from 'vitest';
import { hasListedStatus, httpStatusOf } from '#contracts';
import { MODEL_NOT_FOUND } from './openai/chat-request.js';
import { LENGTH_REQUIRED, UNSUPPORTED_MEDIA_TYPE } from './uploads.js';

/** The codes the gateway's interface raises itself (uploads, the OpenAI-compatible API). */
describe("the gateway interface's error codes", () => {
  it('are listed in the one code-to-status table of #contracts, with the statuses they are answered with', () => {
    const expected = { [LENGTH_REQUIRED]: 411, [UNSUPPORTED_MEDIA_TYPE]: 415, [MODEL_NOT_FOUND]: 404 };
    const codes = Object.keys(expected);
    expect(codes.filter((code) => !hasListedStatus(code))).toEqual([]);
    expect(Object.fromEntries(codes.map((code) => [code, httpStatusOf(code)]))).toEqual(expected);
  });
});
