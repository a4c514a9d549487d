/** The published language's messages, one file per context, plus the gateway's HTTP bodies. */
export * from './common.dto.js';
export * from './document-cursor.js';
export * from './ingestion.dto.js';
export * from './query-understanding.dto.js';
export * from './retrieval.dto.js';
export * from './generation.dto.js';
export * from './presentation.dto.js';
export * from './gateway-http.dto.js';
export * from './openai-chat.dto.js';
