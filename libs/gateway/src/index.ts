/** The gateway's public surface: its module and the OpenAPI mount. */
export { GatewayModule } from './gateway.module.js';
export { mountOpenApi } from './interface/openapi.js';
export { serverTiming } from './interface/query.http.controller.js';
export { AnswerQueryUseCase } from './application/answer-query/answer-query.use-case.js';
export { RagOperations, type Caller } from './application/rag-operations/rag-operations.js';
export { loadMcp } from './interface/mcp/load-mcp.js';
export { ApiKeysService, CreateKeyBody, type KeyView } from './application/api-keys/api-keys.service.js';
export { ApiKeyRepository } from './infrastructure/api-keys/api-key.repository.js';
export { assertRead, assertWrite, assertAdmin } from './interface/access.js';
export { mountPlayground, playgroundDir } from './interface/playground.js';
