package caspio_test

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/caspio-auth/caspio"
)

// The Go module and the npm package are one release: one version number, one changelog.
func TestVersionsAgree(t *testing.T) {
	data, err := os.ReadFile("js/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatalf("js/package.json: %v", err)
	}
	if pkg.Version != caspio.Version {
		t.Errorf("js/package.json has version %q, version.go %q: set both (and js/version.js) to the new version", pkg.Version, caspio.Version)
	}

	data, err = os.ReadFile("js/version.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^export const VERSION = '([^']*)';$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("js/version.js has no line export const VERSION = '...'; (build.sh reads it)")
	}
	if string(m[1]) != caspio.Version {
		t.Errorf("js/version.js has version %q, version.go %q", m[1], caspio.Version)
	}

	data, err = os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m = regexp.MustCompile(`(?m)^## (\d+\.\d+\.\d+\S*)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("CHANGELOG.md has no section '## X.Y.Z'")
	}
	if string(m[1]) != caspio.Version {
		t.Errorf("CHANGELOG.md's newest section is %s, the version %s: give the version its section", m[1], caspio.Version)
	}
}
