// @ts-check
// The globals that the Go toolchain's wasm_exec.js defines, as they were before it ran:
// core.js imports this module first and puts them back once wasm_exec.js has run, so that a
// page is not left with a globalThis.Go, or stub fs, process and path objects that mislead
// other libraries' environment checks. (Go's runtime needs them no longer: syscall, which
// reads process, path and fs, is not linked, and only its dying messages would use fs.)
//
// crypto is put back too: wasm_exec.js checks when it loads that globalThis.crypto exists,
// and where reading it loads the Web Crypto module (a getter: about 9 ms in Node 24), a
// stand-in answers the check instead, so that the cost comes when Go starts, which reads it
// (a client answering from a stored lease may never start Go).
export const saved = Object.fromEntries(['Go', 'fs', 'process', 'path', 'crypto'].map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)]));
if (saved.crypto?.get && saved.crypto.configurable) Object.defineProperty(globalThis, 'crypto', { value: {}, configurable: true, writable: true });
