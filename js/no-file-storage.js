// @ts-check
// fileStorage where there is no file system: the same export as in node.js, so that one
// types file serves every entry point, failing with the fix instead of a missing import.

/** @returns {never} */
export function fileStorage() {
  throw new TypeError('caspio-auth: fileStorage needs Node; here use memoryStorage() or a storage of your own (KV, IndexedDB) with get, set, delete and lock');
}
