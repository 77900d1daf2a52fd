package caspio

// Version is the version of caspio-auth. The Go module and the npm package caspio-auth are
// released together under one version number: the module's tag is "v" + Version, and
// CHANGELOG.md says what each version changed. The number is set in js/package.json; this
// constant and js/version.js repeat it for the builds that need it, and TestVersionsAgree
// fails until all of them, and CHANGELOG.md's newest section, agree.
const Version = "0.1.0"
