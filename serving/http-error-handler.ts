import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { formatIssues } from '../infra/config.js';
import { errorMessage, ValidationError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import { RegistryError } from '../pipelines/registry/registry-errors.js';
import { NotFoundError, ServiceUnavailableError, UnauthorizedError } from './http-errors.js';

/** body-parser's errors carry `type` and `status`. */
interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * Every error → a JSON body `{error, request_id}` with the right status and
 * never a stack trace: 400 bad input, 401/403 admin, 404 unknown entity, 413
 * body too large, 415 encoding, 503 a dependency is down; anything else is a
 * 500 "internal error" logged with its stack.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const requestId = res.locals.requestId as string | undefined;
    const clientRequestId = res.locals.clientRequestId as string | undefined;
    const send = (status: number, message: string, details?: readonly string[]) => {
      if (res.headersSent) return;
      res.status(status).json({ error: message, ...(details && details.length > 0 ? { details } : {}), request_id: requestId });
    };
    const bp = error as BodyParserError;
    if (bp?.type === 'entity.too.large') return send(413, `request body too large (limit ${bp.limit ?? '?'} bytes)`);
    if (bp?.type === 'entity.parse.failed') return send(400, 'malformed JSON body');
    if (typeof bp?.type === 'string' && typeof bp.status === 'number' && bp.status >= 400 && bp.status < 500) return send(bp.status, `bad request body (${bp.type})`);
    if (error instanceof URIError) return send(400, 'malformed URL (bad percent-encoding)');
    if (error instanceof ZodError) return send(400, 'invalid request', formatIssues(error));
    if (error instanceof ValidationError) return send(400, error.message);
    if (error instanceof UnauthorizedError) return send(error.status, error.message);
    if (error instanceof NotFoundError) return send(404, error.message);
    if (error instanceof RegistryError) return send(400, error.message);
    if (error instanceof ServiceUnavailableError) {
      log.warn({ requestId, clientRequestId, path: req.path, err: errorMessage(error), cause: errorMessage((error as Error).cause) }, 'service unavailable');
      return send(503, error.message);
    }
    log.error({ requestId, clientRequestId, path: req.path, err: error }, 'request failed');
    return send(500, 'internal error');
  };
}
