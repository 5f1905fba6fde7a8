package faults

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTableRendersAndCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	lines := `{"scenario":"b stall","result":"` + strings.Repeat("x", 200) + `","intact":"tag","passed":true}
{"scenario":"a reset","result":"exit 1","intact":"dist","passed":false}
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	passed, failed, err := Table(&out, path)
	if err != nil || passed != 1 || failed != 1 {
		t.Fatalf("%d %d %v", passed, failed, err)
	}
	rows := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(rows) != 4 || !strings.HasPrefix(rows[2], "a reset  | FAIL exit 1") || !strings.HasSuffix(rows[3], "… | tag") {
		t.Errorf("table:\n%s", out.String())
	}
}
