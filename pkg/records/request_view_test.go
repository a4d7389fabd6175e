package records

import (
	"strings"
	"testing"
	"unicode/utf8"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
)

func TestRequestViewCutsLongBody(t *testing.T) {
	body := strings.Repeat("é", maxBodyView) // two bytes each
	view := RequestView(&internalv1.RenderedRequest{Body: []byte(body)})
	if !view.GetBodyTruncated() {
		t.Error("body_truncated = false, want true")
	}
	if n := len(view.GetBody()); n > maxBodyView {
		t.Errorf("body length = %d, want at most %d", n, maxBodyView)
	}
	if !utf8.ValidString(view.GetBody()) {
		t.Error("cut body is not valid UTF-8")
	}
}
