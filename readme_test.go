package caspio_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEGoExamplesCompile builds every Go program in README.md, so that the examples a
// newcomer copies keep up with the API.
func TestREADMEGoExamplesCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs; runs without -short")
	}
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	programs := goBlocks(string(data))
	require.NotEmpty(t, programs, "README.md should show a Go program")
	for i, src := range programs {
		// Inside the module, so that its packages resolve; "_" keeps ./... from seeing it.
		dir, err := os.MkdirTemp(".", "_readme")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dir) })
		require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600))
		out, err := exec.Command("go", "build", "-o", os.DevNull, "./"+dir).CombinedOutput()
		require.NoError(t, err, "README Go block %d does not build:\n%s", i+1, out)
	}
}

// goBlocks returns the fenced ```go blocks that are whole programs.
func goBlocks(markdown string) []string {
	var blocks []string
	for _, part := range strings.Split(markdown, "```go\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if strings.HasPrefix(block, "package main") {
			blocks = append(blocks, block)
		}
	}
	return blocks
}
