import type { SecurityConfig } from '../config/security-config.js';

/**
 * The Content-Security-Policy of every response, in one place. Pages served by ragnest (Swagger UI at
 * /docs, the playground at /) load their scripts and styles from this origin only; Swagger UI needs inline
 * styles and data: images, nothing else. CONTENT_SECURITY_POLICY replaces it whole.
 */
export const DEFAULT_CSP: Record<string, string[]> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

export function contentSecurityPolicy(security: Pick<SecurityConfig, 'contentSecurityPolicy'>) {
  if (!security.contentSecurityPolicy) return DEFAULT_CSP;
  const directives: Record<string, string[]> = {};
  for (const part of security.contentSecurityPolicy.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives[name] = values;
  }
  return directives;
}
