package handlers

import (
	"fmt"
	"testing"
)

func ExampleInput_Kind() {
	fmt.Println(Input{Command: "help"}.Kind(), Input{Text: "hi"}.Kind(), Input{Callback: &Callback{}}.Kind())
	// Output: command text button
}

func TestCallbackData(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data, flow, step string
		ok                     bool
	}{
		{name: "ours", data: callbackData("inv", "node", "c12"), flow: "inv", step: "node", ok: true},
		{name: "empty value", data: callbackData("lang", "pick", ""), flow: "lang", step: "pick", ok: true},
		{name: "no step", data: "inv", ok: false},
		{name: "empty flow", data: ":node:x", ok: false},
		{name: "foreign", data: "something else", ok: false},
	} {
		flow, step, ok := parseCallback(tc.data)
		if ok != tc.ok || (ok && (flow != tc.flow || step != tc.step)) {
			t.Errorf("%s: parseCallback(%q) = %q, %q, %v; want %q, %q, %v", tc.name, tc.data, flow, step, ok, tc.flow, tc.step, tc.ok)
		}
	}
}

func TestLocaleFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, chosen, code, want string }{
		{"chosen wins", "en", "zh-hans", "en"},
		{"chinese client", "", "zh-hant", "zh-Hans"},
		{"english client", "", "en-GB", "en"},
		{"unknown language", "", "uk", "zh-Hans"},
		{"nothing known", "", "", "zh-Hans"},
	} {
		if got := localeFor(tc.chosen, tc.code, "zh-Hans"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestTokenShape(t *testing.T) {
	t.Parallel()
	token, hash := newInviteToken()
	if !validTokenShape(token) || len(token) != 22 || len(hash) != 32 {
		t.Fatalf("token %q (valid %v), hash of %d bytes", token, validTokenShape(token), len(hash))
	}
	for _, bad := range []string{"", "short", token + "A", token[:21] + "!", "AAAAAAAAAAAAAAAAAAAAA="} {
		if validTokenShape(bad) {
			t.Errorf("validTokenShape(%q) = true, want false", bad)
		}
	}
}
