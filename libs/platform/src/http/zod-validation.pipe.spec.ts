import { describe, expect, it } from 'vitest';
import { AppError, IngestDocumentsBody, SearchBody } from '#contracts';
import { validate, ZodValidationPipe } from './zod-validation.pipe.js';

/** The validation pipe: parsed data on success, one 400 naming every offending field on failure. */

interface Issue {
  field: string;
  message: string;
}

function rejection(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected the input to be rejected');
}

const issuesOf = (error: AppError) => (error.details as { issues: Issue[] }).issues;

describe('ZodValidationPipe', () => {
  describe('valid input', () => {
    it('returns the parsed data with defaults applied', () => {
      const pipe = new ZodValidationPipe(SearchBody);
      expect(pipe.transform({ collection: 'docs', query: 'what is rag' })).toEqual({
        collection: 'docs',
        query: 'what is rag',
        topK: 10,
        mode: 'hybrid',
      });
    });

    it('keeps the values given over the defaults', () => {
      const body = { collection: 'docs', query: 'q', topK: 3, mode: 'dense', filter: { lang: 'en' } };
      expect(validate(SearchBody, body)).toEqual(body);
    });

    it('returns nested documents as parsed', () => {
      const body = { documents: [{ id: 'd1', text: 'hello', metadata: { lang: 'en' } }] };
      expect(validate(IngestDocumentsBody, body)).toEqual(body);
    });
  });

  describe('invalid input', () => {
    it('throws GATEWAY.VALIDATION_FAILED with status 400', () => {
      const error = rejection(() => validate(SearchBody, { collection: 'docs', query: 'q', topK: 0 }));
      expect(error.code).toBe('GATEWAY.VALIDATION_FAILED');
      expect(error.status).toBe(400);
    });

    it('names the offending field and lists it in details.issues', () => {
      const error = rejection(() => validate(SearchBody, { collection: 'docs', query: 'q', topK: 0 }));
      expect(error.message).toMatch(/^invalid body: topK: /);
      expect(issuesOf(error)).toEqual([{ field: 'topK', message: expect.any(String) as string }]);
    });

    it('names every offending field, with nested paths joined by dots', () => {
      const error = rejection(() =>
        validate(IngestDocumentsBody, { documents: [{ text: '   ' }, { text: 'ok', title: 42 }] }),
      );
      expect(issuesOf(error).map((i) => i.field)).toEqual(['documents.0.text', 'documents.1.title']);
      expect(error.message).toContain('documents.0.text: must not be empty');
      expect(error.message).toContain('documents.1.title: ');
      expect(error.message.split('; ')).toHaveLength(2);
    });

    it('names unknown keys, at the top level under the name of what is validated', () => {
      const error = rejection(() => validate(SearchBody, { collection: 'docs', query: 'q', limit: 5, x: 1 }));
      expect(issuesOf(error)).toEqual([{ field: 'body', message: 'unknown field(s) "limit", "x"' }]);
      expect(error.message).toBe('invalid body: body: unknown field(s) "limit", "x"');
    });

    it('names unknown keys of a nested object under its path', () => {
      const error = rejection(() =>
        validate(IngestDocumentsBody, { documents: [{ text: 'ok', body: 'x' }] }),
      );
      expect(issuesOf(error)).toEqual([{ field: 'documents.0', message: 'unknown field(s) "body"' }]);
    });

    it('names the input itself when it is not an object at all', () => {
      const error = rejection(() => validate(SearchBody, 'not json', 'payload'));
      expect(error.message).toMatch(/^invalid payload: payload: /);
      expect(issuesOf(error)).toEqual([{ field: 'payload', message: expect.any(String) as string }]);
    });

    it('names a missing required field', () => {
      const error = rejection(() => new ZodValidationPipe(SearchBody, 'message').transform({ query: 'q' }));
      expect(error.message).toMatch(/^invalid message: collection: /);
      expect(issuesOf(error).map((i) => i.field)).toEqual(['collection']);
    });
  });
});
