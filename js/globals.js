// @ts-check
// The globals that the Go toolchain's wasm_exec.js defines, as they were before it ran:
// core.js imports this module first and puts them back once wasm_exec.js has run, so that a
// page is not left with a globalThis.Go, or stub fs, process and path objects that mislead
// other libraries' environment checks. (Go's runtime needs them no longer: syscall, which
// reads process, path and fs, is not linked, and only its dying messages would use fs.)
export const saved = Object.fromEntries(['Go', 'fs', 'process', 'path'].map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)]));
