import { Logger } from '@nestjs/common';
import { AppError, ErrorCode, type RetrievalPort, type SearchRequest, type SearchResponse } from '#contracts';

const log = new Logger('Retrieval');

/**
 * One search through the retrieval port, as the gateway makes it for /rag/search and /rag/query. When
 * retrieval cannot answer (no replica alive, a timeout, an open breaker, a 5xx from retrieval itself)
 * the client gets 503 RETRIEVAL.UNAVAILABLE at once, with the exception filter's Retry-After, whatever
 * the transport said: there is no answer without sources, and all a client can do is try again. The
 * transport's own code is kept in `details.cause` for whoever debugs it. A 4xx (a bad filter, an unknown
 * collection) is the caller's and passes as it is; so does a full bulkhead (`*.OVERLOADED`), already a
 * 503 that says more precisely why.
 */
export async function searchRetrieval(
  retrieval: RetrievalPort,
  request: SearchRequest,
): Promise<SearchResponse> {
  try {
    return await retrieval.search(request);
  } catch (error) {
    if (error instanceof AppError && (error.status < 500 || error.code.endsWith('.OVERLOADED'))) throw error;
    log.warn(`retrieval search failed: ${error instanceof Error ? error.message : String(error)}`);
    throw new AppError(
      ErrorCode.RetrievalUnavailable,
      'retrieval is unavailable; try again shortly',
      error instanceof AppError ? { cause: error.code } : undefined,
    );
  }
}
