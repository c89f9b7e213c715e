package observe

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats of --log-format.
const (
	LogText = "text"
	LogJSON = "json"
)

// LogFormats lists the accepted log formats, the default first.
var LogFormats = []string{LogText, LogJSON}

// NewLogger is the logger of a long-running command (worker, serve, dev):
// log/slog to w, as text (key=value) or JSON (one object a line, with
// time, level and msg), at warning level, or information with verbose.
func NewLogger(w io.Writer, format string, verbose bool) (*slog.Logger, error) {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", LogText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q is not one of %s", format, strings.Join(LogFormats, ", "))
}
