package logging

import (
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
)

// slogArgs turns hclog's key-value pairs into slog's: hclog's formatting
// types become the strings hclog would print, and values that only know
// how to print themselves (a *raft.Raft, a configuration) are printed
// rather than marshalled as "{}" by the JSON handler.
func slogArgs(args []any) []any {
	out := make([]any, len(args))
	copy(out, args)
	for i := 1; i < len(out); i += 2 {
		out[i] = slogValue(out[i])
	}
	return out
}

func slogValue(v any) any {
	switch x := v.(type) {
	case hclog.Format:
		if len(x) == 0 {
			return ""
		}
		if f, ok := x[0].(string); ok {
			return fmt.Sprintf(f, x[1:]...)
		}
		return fmt.Sprint(x...)
	case hclog.Hex:
		return "0x" + strconv.FormatInt(int64(x), 16)
	case hclog.Octal:
		return "0" + strconv.FormatInt(int64(x), 8)
	case hclog.Binary:
		return "0b" + strconv.FormatInt(int64(x), 2)
	case hclog.Quote:
		return strconv.Quote(string(x))
	case nil, error, time.Time, time.Duration, slog.LogValuer, json.Marshaler, encoding.TextMarshaler:
		return v // slog renders these itself
	case fmt.Stringer:
		return x.String()
	}
	return v
}
