package handlers_test

import (
	"context"
	"strings"
	"testing"

	"zhucun/store"
)

// oddTexts are texts that break naive code: SQL quoting, comment and statement
// separators, a NUL, right-to-left and zero-width marks, emoji, and a message of the
// most characters Telegram sends (4,096).
var oddTexts = []struct{ name, text string }{
	{"quotes", `他说"好"，她说'不' \ 反斜杠`},
	{"sql", `'; DROP TABLE feedback;-- ` + "`x`"},
	{"sql comment", `1' OR '1'='1' /* */ --`},
	{"right-to-left", "\u202eevil\u202c and \u200f\u200b\ufeff marks"},
	{"emoji", "路灯坏了 💡🙏🏽👨‍👩‍👧"},
	{"percent", "%s %d %v {{.Name}} ${HOME}"},
	{"nul", "before\x00after"},
	{"long", strings.Repeat("长", 4096)},
}

// TestOddTextStoredVerbatimOrRefused sends each odd text as feedback, as a member's
// name, and as a problem's description: it is stored exactly as sent, or refused with a
// clear localised message that keeps the conversation on its step; never an error.
func TestOddTextStoredVerbatimOrRefused(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	const u = 60
	w.grant(t, u, store.RoleMember, "V1")
	stored := 0
	for _, tc := range oddTexts {
		w.send(t, u, cmd("feedback"))
		replies := w.send(t, u, text(tc.text))
		got := only(t, replies)
		if strings.Contains(got, "匿名") { // accepted: asks whether to sign it
			w.send(t, u, press("fb:anon:anon"))
			fb, err := w.db.AllFeedback(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(fb) == 0 || fb[len(fb)-1].Body != tc.text {
				t.Errorf("%s: stored %q, want it verbatim", tc.name, fb[len(fb)-1].Body)
			}
			stored++
			continue
		}
		if !strings.Contains(got, "太长") && !strings.Contains(got, "无法保存") {
			t.Errorf("%s: got %q, want it stored or a clear refusal", tc.name, got)
		}
		// Refused: still on the step, a plain text goes through.
		if got := only(t, w.send(t, u, text("好的"))); !strings.Contains(got, "匿名") {
			t.Errorf("%s: after the refusal got %q, want the next step", tc.name, got)
		}
		w.send(t, u, cmd("cancel"))
	}
	if stored < 6 {
		t.Errorf("%d of %d odd texts stored, want all but the NUL and the over-long one", stored, len(oddTexts))
	}

	// Names: whatever the client calls the user, the bot answers and shows it back.
	for i, tc := range oddTexts {
		id := int64(700 + i)
		in := cmd("me")
		in.FirstName = tc.text
		got := only(t, w.send(t, id, in))
		user, err := w.db.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(tc.text, "\x00", "")
		if user.FirstName != want || !strings.Contains(got, want) {
			t.Errorf("%s name: stored %q, /me says %q; want %q", tc.name, user.FirstName, got, want)
		}
	}

	// A problem's description, with the flow's own limit.
	for _, tc := range oddTexts {
		w.send(t, u, cmd("report"))
		w.send(t, u, press("pb:cat:security"))
		got := said(w.send(t, u, text(tc.text)))
		if strings.Contains(got, "无法保存") || strings.Contains(got, "太长") || strings.Contains(got, "超过") {
			continue
		}
		w.send(t, u, press("pb:photos:done"))
		w.send(t, u, press("pb:loc:centre"))
		w.send(t, u, press("pb:urg:normal"))
		w.send(t, u, press("pb:dup:new"))
		w.send(t, u, press("pb:confirm:submit"))
	}
	list, _, err := w.db.Problems(ctx, store.ProblemFilter{RegionIDs: []int64{w.region["V1"].ID}})
	if err != nil {
		t.Fatal(err)
	}
	descs := map[string]bool{}
	for _, p := range list {
		descs[p.Description] = true
	}
	for _, tc := range oddTexts[:6] {
		if !descs[tc.text] {
			t.Errorf("%s: no problem with the description stored verbatim (have %d problems)", tc.name, len(list))
		}
	}
}
