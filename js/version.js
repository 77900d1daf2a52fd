// The package version. build.sh stamps the same version into caspio.wasm, and the loader
// refuses a .wasm of another version.
export const VERSION = '0.1.0';
