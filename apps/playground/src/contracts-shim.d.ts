/**
 * The playground imports the API's shapes from #contracts as types only (erased from the bundle). Type-
 * checking those sources meets one Node global, the document cursor codec's Buffer, which this browser
 * build has no types for: declared here as far as that codec uses it; the playground's own code does not use it.
 */
declare const Buffer: {
  from(value: string, encoding: 'utf8' | 'base64url'): { toString(encoding: 'utf8' | 'base64url'): string };
};
