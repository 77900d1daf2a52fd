//go:build linux

package client_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/client"
)

// TestFileStoreWritesNoNamedTemp: on Linux a FileStore writes the tokens, and the lock's
// owner record, only to files that have no name yet, so that a writer killed mid-write
// leaves no file behind. The directory is watched with inotify: no file is written while it
// has a name; files only appear, whole, and are renamed.
func TestFileStoreWritesNoNamedTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if f, err := os.OpenFile(dir, os.O_WRONLY|0x400000|syscall.O_DIRECTORY, 0o600); err != nil {
		t.Skipf("the file system of %s has no unnamed files (O_TMPFILE): %v", dir, err)
	} else {
		_ = f.Close()
	}
	path := filepath.Join(dir, "token.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1}`), 0o600))

	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	require.NoError(t, err)
	defer syscall.Close(fd)
	_, err = syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MODIFY|syscall.IN_CLOSE_WRITE|syscall.IN_MOVED_TO)
	require.NoError(t, err)

	ctx := context.Background()
	s := client.NewFileStore(path)
	unlock, err := s.Lock(ctx)
	require.NoError(t, err)
	for _, at := range []string{"at-1", "at-2"} {
		require.NoError(t, s.Save(ctx, []byte(`{"access_token":"`+at+`","version":1}`)))
	}
	require.NoError(t, unlock())
	data, err := s.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, `{"access_token":"at-2","version":1}`, string(data))

	buf := make([]byte, 64<<10)
	n, err := syscall.Read(fd, buf)
	require.NoError(t, err)
	var events, written []string
	for off := 0; off+syscall.SizeofInotifyEvent <= n; {
		ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
		name := string(bytes.TrimRight(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)], "\x00"))
		off += syscall.SizeofInotifyEvent + int(ev.Len)
		switch {
		case strings.HasPrefix(name, "#"):
			name = "an unnamed file" // inotify names one "#" and its inode number
		case strings.Contains(name, ".tmp-"):
			name = "a temporary file"
		}
		if ev.Mask&(syscall.IN_MODIFY|syscall.IN_CLOSE_WRITE) != 0 {
			written = append(written, name)
		}
		if ev.Mask&syscall.IN_CREATE != 0 {
			events = append(events, "create "+name)
		}
		if ev.Mask&syscall.IN_MOVED_TO != 0 {
			events = append(events, "rename to "+name)
		}
	}
	assert.Equal(t, []string{
		"create token.json.lock", // the owner record, linked whole
		"create a temporary file", "rename to token.json",
		"create a temporary file", "rename to token.json",
	}, events)
	require.NotEmpty(t, written)
	for _, name := range written {
		assert.Equal(t, "an unnamed file", name, "written while it had a name")
	}
}
