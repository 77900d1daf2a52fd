// Errors of caspio-auth. Every error is a CaspioError with a stable `code`; the codes are
// the same in Go (the core's Kind constants) and in the shared test vectors. Messages never
// contain a secret, nor quote any value that may be one: they describe its shape instead
// (the rule is in the core's errors.go), and so do the errors' fields. Where an error came
// from an HTTP response, the Response hangs off it as `response`, not enumerable, so that
// logging the error does not dump it.

export class CaspioError extends Error {
  /**
   * @param {string} code a stable code, e.g. 'OAUTH_ERROR'
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad option: names the option and the fix. */
export class CaspioConfigError extends CaspioError {
  constructor(message, details = {}) {
    super('CONFIG_INVALID', message);
    this.field = details.field ?? '';
  }
}

/** An OAuth 2.0 error answered by the token endpoint (RFC 6749 section 5.2). */
export class CaspioOAuthError extends CaspioError {
  constructor(message, details = {}) {
    super('OAUTH_ERROR', message);
    this.status = details.status ?? 0;
    this.error = details.error ?? '';
    this.errorDescription = details.errorDescription ?? '';
    this.errorUri = details.errorUri ?? '';
    this.grant = details.grant ?? '';
  }
}

/** An error answered by Caspio's REST API, with Caspio's own field names. */
export class CaspioAPIError extends CaspioError {
  constructor(message, details = {}) {
    super('CASPIO_API_ERROR', message);
    this.status = details.status ?? 0;
    this.Code = details.Code ?? '';
    this.Message = details.Message ?? '';
    this.Resource = details.Resource ?? '';
    this.RequestId = details.RequestId ?? '';
  }
}

/** A token endpoint response that is no usable answer (or no response at all: status 0). */
export class CaspioResponseError extends CaspioError {
  constructor(message, details = {}) {
    super('RESPONSE_INVALID', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status ?? 0;
    this.field = details.field ?? '';
    this.location = details.location ?? '';
  }
}

/** Stored token state that cannot be read. Clients discard it and report it as an event. */
export class CaspioStateError extends CaspioError {
  constructor(message, details = {}) {
    super('STATE_INVALID', message);
    this.field = details.field ?? '';
  }
}

/** A resource URL the client will not send its bearer token to. */
export class CaspioURLError extends CaspioError {
  constructor(message, details = {}) {
    super('URL_REFUSED', message);
    this.ref = details.ref ?? '';
  }
}

const classes = {
  CONFIG_INVALID: CaspioConfigError,
  OAUTH_ERROR: CaspioOAuthError,
  CASPIO_API_ERROR: CaspioAPIError,
  RESPONSE_INVALID: CaspioResponseError,
  STATE_INVALID: CaspioStateError,
  URL_REFUSED: CaspioURLError,
};

/**
 * Makes the error of a kind: the WebAssembly core calls this, so that its errors reach JS
 * as instances of these classes.
 * @param {string} kind
 * @param {string} message
 * @param {object} details
 */
export function makeError(kind, message, details) {
  const Class = classes[kind];
  return Class ? new Class(message, details) : new CaspioError(kind, message);
}

/**
 * Attaches the HTTP response to an error without making it enumerable.
 * @template {Error} E
 * @param {E} error
 * @param {unknown} response
 * @returns {E}
 */
export function withResponse(error, response) {
  Object.defineProperty(error, 'response', { value: response, enumerable: false, configurable: true });
  return error;
}
