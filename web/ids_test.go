package web

import (
	"path/filepath"
	"testing"
)

func TestUpdateIDsIncreaseAcrossRestarts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "update-id")
	var last int64
	for run := 0; run < 3; run++ {
		ids, err := openUpdateIDs(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < idBlock+5; i++ { // past one reservation
			id, err := ids.take()
			if err != nil {
				t.Fatal(err)
			}
			if id <= last {
				t.Fatalf("run %d: got update id %d after %d, want a larger one", run, id, last)
			}
			last = id
		}
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text, cmd, args string }{
		{name: "plain", text: "/checkin", cmd: "checkin"},
		{name: "args", text: "/start  abc ", cmd: "start", args: "abc"},
		{name: "bot suffix", text: "/Help@zhucun_bot", cmd: "help"},
		{name: "text", text: "hello /start"},
		{name: "slash only", text: "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd, args := command(tc.text)
			if cmd != tc.cmd || args != tc.args {
				t.Errorf("command(%q): got %q %q, want %q %q", tc.text, cmd, args, tc.cmd, tc.args)
			}
		})
	}
}

func TestFilesRefuseForeignIDs(t *testing.T) {
	t.Parallel()
	f := NewFiles(t.TempDir())
	id, err := f.Put([]byte("bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Fetch(t.Context(), id); err != nil || string(got) != "bytes" {
		t.Fatalf("fetch %s: got %q, %v; want the bytes put", id, got, err)
	}
	for _, bad := range []string{"", "../update-id", "w" + id[1:10], "AgACAgIAAxkBAAIB"} {
		if _, err := f.Fetch(t.Context(), bad); err == nil {
			t.Errorf("fetch %q: got no error, want not found", bad)
		}
	}
}
