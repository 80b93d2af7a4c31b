package peer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/thecal/thecal/telemetry"
)

// Every refusal the pump or the link can give has plain words, whether it
// arrives as an encrypted answer, an unauthenticated alert or a local error.
func TestExplainEveryRefusal(t *testing.T) {
	for code := telemetry.ErrorCode(1); code.Err() != telemetry.ErrRemote; code++ {
		err := code.Err()
		for _, e := range []error{err, &telemetry.AlertError{Code: code}, &telemetry.ErrorResponse{Code: code, Detail: "why"}, fmt.Errorf("wrapped: %w", err)} {
			got := Explain(e)
			if got == e.Error() {
				t.Errorf("%v (%T) not explained", e, e)
			}
		}
	}
	// The device's detail follows, without the sentinel's own words.
	err := telemetry.AnswerErr(telemetry.Refuse(fmt.Errorf("%w: patient may not program", telemetry.ErrForbidden)))
	if got := Explain(err); !strings.HasSuffix(got, "(deny by default): patient may not program") {
		t.Errorf("forbidden: %q", got)
	}
	if got := Explain(fmt.Errorf("%w: dial", ErrNoPump)); !strings.Contains(got, "thecal pump run") {
		t.Errorf("no pump: %q", got)
	}
	if got := Explain(errors.New("something else")); got != "something else" {
		t.Errorf("unknown error: %q", got)
	}
}
