import { NonRetriableError, RecsysError } from '../../infra/errors.js';

/** A model, version or alias that is not in the registry, or a registry file that cannot be read. */
export class RegistryError extends NonRetriableError {}

/**
 * Another process moved the alias between this one reading it and committing
 * its change. Nothing was written; reading the alias again and deciding anew
 * is safe.
 */
export class AliasConflictError extends RecsysError {}
