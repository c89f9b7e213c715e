package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Entry is one journaled call to a twin.
type Entry struct {
	// Seq numbers attempts from 1 in the order they were journaled.
	Seq int `json:"seq"`
	// At is when the attempt was journaled (wall clock; for reading only).
	At time.Time `json:"at"`
	// Op is the twin operation, one of the Op constants.
	Op string `json:"op"`
	// Key is the idempotency key the call carried.
	Key string `json:"key"`
	// Incident is the incident the call belongs to, when the request says.
	Incident string `json:"incident,omitempty"`
	// Exercise is the call's exercise flag.
	Exercise bool `json:"exercise,omitempty"`
	// Request is the request as JSON.
	Request json.RawMessage `json:"request,omitempty"`
	// Result is the response as JSON; for a repeat, the first effect's.
	Result json.RawMessage `json:"result,omitempty"`
	// Error is the error the attempt returned (an injected failure).
	Error string `json:"error,omitempty"`
	// Effect is true when this attempt applied a new effect: the first
	// successful attempt of an (Op, Key) pair that changes something. It is
	// false for repeats, failures and reads.
	Effect bool `json:"effect"`
}

// Journal records what the twins would have done. Attempts holds every
// call, repeats and failures included; effects are applied at most once per
// (Op, Key): a second call with the same key gets the first call's result
// and adds no effect, which is what idempotency keys buy.
//
// A journal is in memory (NewJournal) or backed by a file of JSON lines
// (OpenJournal), one line per attempt, synced before the call returns, and
// re-read on open, so the once-per-key rule survives a worker killed with
// kill -9 and restarted. A Journal is safe for concurrent use.
//
// Several processes may share one journal file (on Unix), as several
// workers share the systems they act on: each call takes an exclusive lock
// on the file and first reads what the others appended, so an effect one
// worker applied is a repeat for every other. Attempts, Effects and the
// twins' reads see what this process has read so far.
type Journal struct {
	mu       sync.Mutex
	path     string
	f        *os.File // nil for an in-memory journal
	size     int64    // bytes of whole lines in f
	closed   bool
	attempts []Entry
	effects  map[effectKey]int // index into attempts
}

type effectKey struct{ op, key string }

// NewJournal returns an empty in-memory journal.
func NewJournal() *Journal {
	return &Journal{effects: map[effectKey]int{}}
}

// openLockWait bounds how long OpenJournal waits for another process to
// release the journal's lock.
const openLockWait = 30 * time.Second

// OpenJournal opens (creating if needed) the journal file at path and loads
// the attempts already in it. A torn last line, left by a crash in the middle
// of a write, is dropped and cut from the file; damage anywhere else is an
// error.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening simulation journal: %w", err)
	}
	// Another process may be writing: read and cut only under the lock,
	// waiting for it a bounded time.
	ctx, cancel := context.WithTimeout(context.Background(), openLockWait)
	defer cancel()
	unlock, err := lockFile(ctx, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking simulation journal %s: %w", path, err)
	}
	defer unlock()
	data, err := os.ReadFile(path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading simulation journal: %w", err)
	}
	entries, good, err := parse(path, data)
	if err != nil {
		f.Close()
		return nil, err
	}
	if good < len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, fmt.Errorf("cutting the torn last line of simulation journal %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("syncing simulation journal %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	j := NewJournal()
	j.path = path
	j.f = f
	j.size = int64(good)
	for _, e := range entries {
		j.add(e)
	}
	return j, nil
}

// ReadJournal returns every attempt in the journal file at path, in order,
// without opening it for writing; a torn last line is skipped. It is safe to
// call while another process writes the journal.
func ReadJournal(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading simulation journal: %w", err)
	}
	entries, _, err := parse(path, data)
	return entries, err
}

// parse decodes journal lines. It returns the entries and the length of the
// prefix of data made of whole, valid lines; only the last line may be torn.
func parse(path string, data []byte) ([]Entry, int, error) {
	var out []Entry
	good := 0
	for line := 1; good < len(data); line++ {
		rest := data[good:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			// No newline: the write of this line never finished.
			return out, good, nil
		}
		var e Entry
		if err := json.Unmarshal(rest[:end], &e); err != nil {
			if good+end+1 == len(data) {
				return out, good, nil
			}
			return nil, 0, fmt.Errorf("simulation journal %s: line %d is damaged (%v); only the last line may be torn by a crash", path, line, err)
		}
		out = append(out, e)
		good += end + 1
	}
	return out, good, nil
}

// syncDir makes a newly created file's directory entry durable; failure is
// not fatal (some file systems cannot sync directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Close closes the journal file; later calls through the twins fail.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	if j.f != nil {
		return j.f.Close()
	}
	return nil
}

// Attempts returns every journaled call, in order.
func (j *Journal) Attempts() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Entry(nil), j.attempts...)
}

// Effects returns the attempts that applied a new effect, in order.
func (j *Journal) Effects() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Entry
	for _, e := range j.attempts {
		if e.Effect {
			out = append(out, e)
		}
	}
	return out
}

// add appends an entry to memory.
func (j *Journal) add(e Entry) {
	j.attempts = append(j.attempts, e)
	if e.Effect {
		j.effects[effectKey{e.Op, e.Key}] = len(j.attempts) - 1
	}
}

// call is one call into a twin, as the journal sees it.
type call struct {
	op, key, incident string
	exercise          bool
	request           any
	// effect is false for calls that only observe (reads).
	effect bool
	// fail, when set, is the injected failure this attempt returns.
	fail error
	// result computes the response of a first (or observing) call; an
	// error fails the attempt. It runs with the journal locked, so it must
	// not call into the journal.
	result func() (any, error)
}

// do journals one attempt of c and decodes its response into out: the
// first effect's response when (op, key) already has one, a new one
// otherwise. The journal is locked throughout, so two concurrent calls with
// the same key apply one effect.
func (j *Journal) do(ctx context.Context, c call, out any) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("the simulation journal is closed")
	}
	if j.f != nil {
		unlock, err := lockFile(ctx, j.f)
		if err != nil {
			return fmt.Errorf("locking simulation journal %s: %w", j.path, err)
		}
		defer unlock()
		if err := j.catchUp(); err != nil {
			return err
		}
	}
	req, err := json.Marshal(c.request)
	if err != nil {
		return fmt.Errorf("journaling %s: %w", c.op, err)
	}
	e := Entry{
		Seq:      len(j.attempts) + 1,
		At:       time.Now().UTC(),
		Op:       c.op,
		Key:      c.key,
		Incident: c.incident,
		Exercise: c.exercise,
		Request:  req,
	}
	var result any
	failed := c.fail
	switch i, seen := j.effects[effectKey{c.op, c.key}]; {
	case failed != nil:
	case seen && c.effect:
		e.Result = j.attempts[i].Result
	default:
		if result, failed = c.result(); failed != nil {
			break
		}
		if e.Result, err = json.Marshal(result); err != nil {
			return fmt.Errorf("journaling %s: %w", c.op, err)
		}
		e.Effect = c.effect
	}
	if failed != nil {
		e.Error = failed.Error()
	}
	if err := j.write(e); err != nil {
		return err
	}
	j.add(e)
	if failed != nil {
		return failed
	}
	return json.Unmarshal(e.Result, out)
}

// catchUp reads the attempts other processes appended to the file since
// this one last read or wrote it. It runs with the file locked, so a torn
// last line is what a process killed in the middle of its write left, and
// is cut.
func (j *Journal) catchUp() error {
	st, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("reading simulation journal %s: %w", j.path, err)
	}
	switch {
	case st.Size() == j.size:
		return nil
	case st.Size() < j.size:
		return fmt.Errorf("simulation journal %s shrank from %d to %d bytes while open: something other than firebreak changed it", j.path, j.size, st.Size())
	}
	data := make([]byte, st.Size()-j.size)
	if _, err := j.f.ReadAt(data, j.size); err != nil {
		return fmt.Errorf("reading simulation journal %s: %w", j.path, err)
	}
	entries, good, err := parse(j.path, data)
	if err != nil {
		return err
	}
	if good < len(data) {
		if err := j.f.Truncate(j.size + int64(good)); err != nil {
			return fmt.Errorf("cutting the torn last line of simulation journal %s: %w", j.path, err)
		}
	}
	j.size += int64(good)
	for _, e := range entries {
		j.add(e)
	}
	return nil
}

// write appends e to the file, if any, and syncs it.
func (j *Journal) write(e Entry) error {
	if j.f == nil {
		return nil
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journaling %s: %w", e.Op, err)
	}
	line = append(line, '\n')
	if _, err := j.f.Write(line); err != nil {
		// Cut what may have been written, so the next line starts clean.
		_ = j.f.Truncate(j.size)
		return fmt.Errorf("writing simulation journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		_ = j.f.Truncate(j.size)
		return fmt.Errorf("syncing simulation journal: %w", err)
	}
	j.size += int64(len(line))
	return nil
}

// lastResult decodes into out the result of the most recent effect of op
// for incident, and reports whether there was one.
func (j *Journal) lastResult(op, incident string, out any) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.attempts) - 1; i >= 0; i-- {
		e := j.attempts[i]
		if e.Effect && e.Op == op && e.Incident == incident {
			return json.Unmarshal(e.Result, out) == nil
		}
	}
	return false
}
