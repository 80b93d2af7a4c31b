package implant

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// LogLines is a log handler that prints the implant's event-log records as
// Run logs them (RunConfig.Logger), one a line, for a person watching:
//
//	INFO  #12  2026-01-05T10:00:00.000Z  PROGRAM  continuous, max_24h 0.6 mL
func LogLines(w io.Writer) slog.Handler { return &recordHandler{w: w} }

type recordHandler struct {
	mu sync.Mutex
	w  io.Writer
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-5s ", r.Level)
	var seq, at, detail string
	var rest []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "seq":
			seq = "#" + a.Value.String()
		case "at":
			at = a.Value.String()
		case "detail":
			detail = a.Value.String()
		default:
			rest = append(rest, a.Key+"="+a.Value.String())
		}
		return true
	})
	if seq != "" {
		fmt.Fprintf(&b, "%-6s %s  ", seq, at)
	}
	b.WriteString(r.Message)
	if detail != "" {
		b.WriteString("  " + detail)
	}
	if len(rest) > 0 {
		b.WriteString("  " + strings.Join(rest, " "))
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}
