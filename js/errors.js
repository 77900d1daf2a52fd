// @ts-check
// Errors of caspio-auth: a CaspioError with a stable `code` (the core's error kinds, the same
// in Go and in the shared vectors), one class per kind of problem. Messages never contain a
// secret nor quote a value that may be one. An error that came from an HTTP response has it
// as `response`, not enumerable, so that logging the error does not dump it.

export class CaspioError extends Error {
  /** @param {string} code @param {string} message @param {{cause?: unknown}} [options] */
  constructor(code, message, options) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A subclass for code whose instances take fields (with their zero values) from details. */
function kind(code, fields) {
  return class extends CaspioError {
    /** @param {string} message @param {Record<string, any>} [details] */
    constructor(message, details = {}) {
      super(details.code ?? code, message, details.cause === undefined ? undefined : { cause: details.cause });
      for (const [name, zero] of Object.entries(fields)) this[name] = details[name] ?? zero;
    }
  };
}

/** A bad option: names the option and the fix. */
export class CaspioConfigError extends kind('CONFIG_INVALID', { field: '' }) {}
/** An OAuth 2.0 error answered by the token endpoint (RFC 6749 section 5.2). */
export class CaspioOAuthError extends kind('OAUTH_ERROR', { status: 0, error: '', errorDescription: '', errorUri: '', grant: '' }) {}
/** An error answered by Caspio's REST API, with Caspio's own field names. */
export class CaspioAPIError extends kind('CASPIO_API_ERROR', { status: 0, Code: '', Message: '', Resource: '', RequestId: '' }) {}
/** A token endpoint response that is no usable answer (or none at all: status 0). */
export class CaspioResponseError extends kind('RESPONSE_INVALID', { status: 0, field: '', location: '' }) {}
/** Stored token state that cannot be read. Clients discard it and report it as an event. */
export class CaspioStateError extends kind('STATE_INVALID', { field: '' }) {}
/** A resource URL the client will not send its bearer token to, or a redirect it will not follow. */
export class CaspioURLError extends kind('URL_REFUSED', { ref: '' }) {}
/** An acquisition that ended without a token for a reason of its own (details.code: TOKEN_...). */
export class CaspioTokenError extends kind('TOKEN_GAVE_UP', { grant: '' }) {}
/** A redirect not followed: the redirect mode "error", or the eleventh. */
export class CaspioRedirectError extends kind('REDIRECT_REFUSED', { status: 0, location: '' }) {}

const CLASSES = {
  CONFIG_INVALID: CaspioConfigError, OAUTH_ERROR: CaspioOAuthError, CASPIO_API_ERROR: CaspioAPIError,
  RESPONSE_INVALID: CaspioResponseError, STATE_INVALID: CaspioStateError, URL_REFUSED: CaspioURLError,
  REDIRECT_REFUSED: CaspioRedirectError,
};

/**
 * The error of a value the core encoded (wasm/main.go, jsErrorValue): {kind, message} and
 * the fields of its class. Kinds without a class of their own (STEP_MISUSED, CORE_PANIC)
 * are plain CaspioErrors.
 * @param {any} e
 * @returns {CaspioError}
 */
export function fromCore(e) {
  if (e.kind.startsWith('TOKEN_')) return new CaspioTokenError(e.message, { ...e, code: e.kind, cause: e.cause && fromCore(e.cause) });
  const Class = CLASSES[e.kind];
  return Class ? new Class(e.message, e) : new CaspioError(e.kind || 'CORE_ERROR', e.message);
}

/** Attaches the HTTP response to an error, not enumerable. @template {Error} E @param {E} error @param {unknown} response @returns {E} */
export function withResponse(error, response) {
  Object.defineProperty(error, 'response', { value: response, enumerable: false, configurable: true });
  return error;
}
