// @ts-check
// What every entry point exports besides its runtime's createClient: the error classes and
// the version.
export {
  CaspioError, CaspioConfigError, CaspioOAuthError, CaspioAPIError, CaspioResponseError,
  CaspioStateError, CaspioURLError, CaspioTokenError, CaspioRedirectError,
} from './errors.js';
export { VERSION } from './version.js';
