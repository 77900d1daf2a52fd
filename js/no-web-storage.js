// @ts-check
// webStorage outside browsers: the same export as in browser.js, so that one types file
// serves every entry point, failing with the fix instead of a missing import.

/** @returns {never} */
export function webStorage() {
  throw new TypeError('caspio-auth: webStorage needs a browser (sessionStorage or localStorage); here use fileStorage(path) in Node, memoryStorage(), or a storage of your own (KV) with get, set, delete and lock');
}
