package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/caspio-auth/caspio"
)

// Store persists the token state (the JSON that caspio.State.Encode describes) so that a
// restarted program reuses its tokens instead of logging in again: every login mints a
// refresh token, and a Caspio account keeps at most 1,000 of them. The state holds the
// tokens in clear; keep it where only this program can read it.
type Store interface {
	// Load returns the stored state, or (nil, nil) when nothing is stored.
	Load(ctx context.Context) ([]byte, error)
	// Save replaces the stored state.
	Save(ctx context.Context, state []byte) error
}

// Locker is implemented by a Store shared across processes. The client holds the lock from
// loading the state to saving the new one, so that processes sharing the store make one
// token request between them instead of one each.
type Locker interface {
	// Lock waits for the lock until ctx ends and returns the function that releases it.
	Lock(ctx context.Context) (unlock func() error, err error)
}

// KeepLock calls extend every p.Extend until the returned function is called, which
// returns once no call is under way: how a Locker whose lock lapses by itself (a Redis key
// with a TTL, the TokenBroker's lease: caspio.StoreLock) holds it while its holder works. A
// holder that dies stops extending it, and the lock lapses within p.TTL.
func KeepLock(p caspio.LockPolicy, extend func()) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Duration(p.Extend) * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				extend()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}
}

// MemoryStore keeps the state in memory: tokens die with the process. It is the Store of a
// Client whose Options leave Store nil, and it may be shared by Clients of one process.
type MemoryStore struct {
	mu    sync.Mutex
	state []byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load returns a copy of the stored state, or nil.
func (m *MemoryStore) Load(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == nil {
		return nil, nil
	}
	return append([]byte(nil), m.state...), nil
}

// Save keeps a copy of state.
func (m *MemoryStore) Save(_ context.Context, state []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = append([]byte(nil), state...)
	return nil
}

// String describes the store without its contents.
func (m *MemoryStore) String() string { return "caspio client memory store" }

// Format prints String for every verb, so that no verb prints the tokens it holds.
func (m *MemoryStore) Format(f fmt.State, verb rune) { formatRedacted(f, verb, m.String()) }

// FileStore keeps the state in one file, readable by its owner only (mode 0600, in a
// directory created with mode 0700). Writes are atomic: a new file is written and synced
// beside the old one, then renamed over it, so a crash never leaves a half-written state,
// and the temporary files of writers that died are removed by the next read or write. It
// implements Locker with a lock file beside it (path + ".lock"), so processes on one
// machine, Go or Node (the npm package's fileStorage), may share the file: the protocol,
// which both implement, is in docs/token-file.md.
type FileStore struct {
	path string
	// lock is the policy of its lock file: the core's (caspio.StoreLock); tests shorten it.
	lock caspio.LockPolicy
}

// NewFileStore returns a FileStore that keeps the state in the file at path. Nothing is
// touched before the first Load, Save or Lock.
func NewFileStore(path string) *FileStore { return &FileStore{path: path, lock: caspio.StoreLock()} }

// Path returns the file's path.
func (s *FileStore) Path() string { return s.path }

// String describes the store without its contents.
func (s *FileStore) String() string { return "caspio client file store " + s.path }

// maxStateFile bounds what Load reads: a state is a few hundred bytes.
const maxStateFile = 1 << 20

// Load reads the file; a missing file gives (nil, nil).
func (s *FileStore) Load(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.sweep()
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fileError("read", s.path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, fileError("read", s.path, err)
	}
	if len(data) > maxStateFile {
		return nil, fmt.Errorf("caspio client: read token state file %s: larger than a token state can be (over %d bytes); delete the file", s.path, maxStateFile)
	}
	if len(data) == 0 {
		return nil, nil
	}
	return data, nil
}

// Save writes state to a temporary file in the same directory, syncs it and renames it
// over the file, so that readers see the old state or the new one, never a mix. On Linux
// the temporary file has no name until it is whole (see saveUnnamed).
func (s *FileStore) Save(ctx context.Context, state []byte) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fileError("create the directory of", s.path, err)
	}
	s.sweep()
	if done, err := saveUnnamed(dir, s.path, state); done {
		if err == nil {
			syncDir(dir)
		}
		return err
	}
	tmp, err := os.CreateTemp(dir, tempPattern(s.path, os.Getpid()))
	if err != nil {
		return fileError("write", s.path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fileError("write", s.path, err)
	}
	if _, err := tmp.Write(state); err != nil {
		return fileError("write", s.path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fileError("write", s.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fileError("write", s.path, err)
	}
	if err := os.Rename(tmpName, s.path); err != nil {
		return fileError("replace", s.path, err)
	}
	syncDir(dir)
	return nil
}

// saveUnnamed is Save where the platform writes files without a name (Linux): the state is
// written and synced to a file that has none, then linked under a temporary name and at once
// renamed over path. A writer killed while it writes leaves nothing behind; only a kill
// between the link and the rename, two system calls with no wait between them, leaves a
// temporary file, which the next client removes as it removes a named writer's. done is
// false, with nothing done, where the platform cannot.
func saveUnnamed(dir, path string, state []byte) (done bool, err error) {
	f, err := createUnnamed(dir)
	if err != nil {
		return true, fileError("write", path, err)
	}
	if f == nil {
		return false, nil
	}
	defer f.Close()
	if _, err := f.Write(state); err != nil {
		return true, fileError("write", path, err)
	}
	if err := f.Sync(); err != nil {
		return true, fileError("write", path, err)
	}
	for try := 0; ; try++ {
		tmp := filepath.Join(dir, tempName(path, os.Getpid()))
		err := linkUnnamed(f, tmp)
		switch {
		case err == nil:
			if err := os.Rename(tmp, path); err != nil {
				_ = os.Remove(tmp)
				return true, fileError("replace", path, err)
			}
			return true, nil
		case errors.Is(err, errors.ErrUnsupported):
			return false, nil
		case errors.Is(err, fs.ErrExist) && try < 10:
			// another writer's name: draw another
		default:
			return true, fileError("write", path, err)
		}
	}
}

// Lock takes the cross-process lock, path + ".lock", waiting until ctx ends. A lock left
// by a process that died on this host is taken over at once, one whose holder (on another
// host, say) stopped refreshing it after the core's lock TTL (caspio.StoreLock, 10 seconds).
func (s *FileStore) Lock(ctx context.Context) (func() error, error) {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fileError("create the directory of", s.path, err)
	}
	return newFileLock(s.path, s.lock).acquire(ctx)
}

// sweep removes the temporary files that writers killed mid-write left behind.
func (s *FileStore) sweep() {
	host, _ := os.Hostname()
	sweepTemps(s.path, host, os.Getpid(), time.Now())
}

// syncDir makes a rename durable where the platform allows it; a failure only weakens
// durability after a power loss, so it is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// sleep waits d, or until ctx ends, whichever comes first; it returns ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// fileError names the file, what failed and the likely fix. The OS error names the path
// and the system call, never the contents.
func fileError(op, path string, err error) error {
	fix := ""
	switch {
	case errors.Is(err, fs.ErrPermission):
		fix = "; give this program's user read and write access to the file and its directory, or choose another path"
	case errors.Is(err, fs.ErrNotExist):
		fix = "; check that the directory exists or can be created"
	}
	return fmt.Errorf("caspio client: %s token state file %s: %w%s", op, path, err, fix)
}
