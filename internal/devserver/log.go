package devserver

import (
	"context"
	"io"
	"log/slog"

	sdklog "go.temporal.io/sdk/log"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// minLogLevel is the quietest level the embedded server and its clients
// report; Temporal logs a great deal at info level that is noise to a
// firebreak user.
const minLogLevel = slog.LevelWarn

// quietLogger returns l filtered to records at level or above, or a logger
// that drops everything when l is nil.
func quietLogger(l *slog.Logger, level slog.Leveler) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 100}))
	}
	return slog.New(minLevelHandler{next: l.Handler(), min: level})
}

// minLevelHandler drops records below min before they reach next.
type minLevelHandler struct {
	next slog.Handler
	min  slog.Leveler
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min.Level() && h.next.Enabled(ctx, level)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.next.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{next: h.next.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{next: h.next.WithGroup(name), min: h.min}
}

// serverLogger adapts a slog.Logger to the Temporal server's logging
// interface. Panic and Fatal are reported as errors: the embedded server must
// never take the firebreak process down through its logger.
type serverLogger struct {
	log *slog.Logger
}

var (
	_ serverlog.Logger      = serverLogger{}
	_ serverlog.WithLogger  = serverLogger{}
	_ serverlog.SLogWrapper = serverLogger{}
)

func (s serverLogger) Debug(msg string, tags ...tag.Tag)  { s.emit(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)   { s.emit(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)   { s.emit(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }
func (s serverLogger) Panic(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }
func (s serverLogger) Fatal(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }

// With returns a logger that prepends tags to every record.
func (s serverLogger) With(tags ...tag.Tag) serverlog.Logger {
	return serverLogger{log: slog.New(s.log.Handler().WithAttrs(tagsToAttrs(tags)))}
}

// SLog hands the server's slog users the same level-filtered logger.
func (s serverLogger) SLog() *slog.Logger { return s.log }

func (s serverLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.LogAttrs(ctx, level, msg, tagsToAttrs(tags)...)
}

func tagsToAttrs(tags []tag.Tag) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	return attrs
}

// sdkLogger returns a Temporal SDK logger writing to l.
func sdkLogger(l *slog.Logger) sdklog.Logger {
	return sdklog.NewStructuredLogger(l)
}
