/** The gateway's public surface: its module and the OpenAPI mount. */
export { GatewayModule } from './gateway.module.js';
export { mountOpenApi, buildOpenApi } from './interface/openapi.js';
export { serverTiming } from './interface/query.http.controller.js';
export { AnswerQueryHandler } from './application/answer-query/answer-query.query-handler.js';
