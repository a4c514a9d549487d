/**
 * The gateway's authentication and authorization codes: stable strings clients and tests match on.
 * 401s carry `WWW-Authenticate: Bearer`.
 */
/** 401: a request without a key while keys exist. */
export const KEY_MISSING = 'AUTH.KEY_MISSING';
/** 401: a key that is malformed, unknown, or whose secret does not match. */
export const KEY_INVALID = 'AUTH.KEY_INVALID';
/** 401: a key that was revoked. */
export const KEY_REVOKED = 'AUTH.KEY_REVOKED';
/** 403: a valid key whose scopes do not cover what was asked. */
export const FORBIDDEN = 'AUTH.FORBIDDEN';
/** 403: no key exists yet, so only loopback clients are served (protected mode). */
export const LOOPBACK_ONLY = 'AUTH.LOOPBACK_ONLY';
/** 404: no key by that id. */
export const KEY_NOT_FOUND = 'AUTH.KEY_NOT_FOUND';
