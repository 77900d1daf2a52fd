//go:build !unix

package client

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"time"
)

// staleLock is how old a lock file must be before another process takes it over: longer
// than a token acquisition can hold it (four attempts and three Retry-After waits at the
// default timeouts), so only a crashed holder's lock is ever broken.
const staleLock = 5 * time.Minute

// lockFile creates the file at path exclusively (O_CREATE|O_EXCL), polling while another
// process holds it, and removes it to unlock. Where flock(2) is missing (Windows, js/wasm,
// wasip1) this is the portable way; a lock file older than staleLock is taken to belong to
// a crashed process and removed.
func lockFile(ctx context.Context, path string) (func() error, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			_ = f.Close()
			return func() error {
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fileError("unlock", path, err)
				}
				return nil
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fileError("create the lock", path, err)
		}
		if info, err := os.Stat(path); err == nil && time.Since(info.ModTime()) > staleLock {
			_ = os.Remove(path)
			continue
		}
		if err := sleep(ctx, lockPoll); err != nil {
			return nil, fileError("wait for the lock", path, err)
		}
	}
}
