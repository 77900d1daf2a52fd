// Package reliability writes what a conversation-vector runner observed, for the table of
// RELIABILITY.md (tests/vectors/conversations/report.mjs reads it). The Go runners, the
// core's and the client's, share it; the JS runners write the same shape.
package reliability

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// DirVariable names the folder a runner writes into; runners write nothing when it is unset.
const DirVariable = "CASPIO_RELIABILITY_DIR"

// Case is a case's line in RELIABILITY.md: each call's outcome ("recovered" or the error's
// kind) in the order the script starts the calls, joined with ", "; the token requests made
// by grant; and the resource requests.
type Case struct {
	Outcome          string         `json:"outcome"`
	TokenRequests    map[string]int `json:"token_requests"`
	ResourceRequests int            `json:"resource_requests"`
}

// Write stores $CASPIO_RELIABILITY_DIR/<runtime>.json, {"runtime", "cases": {"<file>#<case
// name>": Case}}, when the variable is set.
func Write(runtime string, cases map[string]Case) error {
	dir := os.Getenv(DirVariable)
	if dir == "" {
		return nil
	}
	data, err := json.MarshalIndent(map[string]any{"runtime": runtime, "cases": cases}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, runtime+".json"), append(data, '\n'), 0o644)
}
