import { RecsysError } from '../infra/errors.js';

/** A dependency the request needs is not there (no model loaded, a store is down): HTTP 503. */
export class ServiceUnavailableError extends RecsysError {}

/** The thing a request names does not exist (e.g. an item with no retrieval embedding): HTTP 404. */
export class NotFoundError extends RecsysError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

/** The admin routes need a valid bearer token: HTTP 401 (no or wrong token) or 403 (admin disabled). */
export class UnauthorizedError extends RecsysError {
  constructor(message: string, readonly status: 401 | 403 = 401) {
    super(message, { retriable: false });
  }
}
