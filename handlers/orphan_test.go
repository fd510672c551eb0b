package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"zhucun/handlers"
	"zhucun/store"
	"zhucun/store/storetest"
)

// TestUnfinishedSaveIsUndone plays a process that died between saving the conversation
// and committing the records of an update: the update comes again and must be handled
// from where the conversation stood before it, not one step further.
func TestUnfinishedSaveIsUndone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := storetest.Redis(t)
	st := store.NewState(rdb, prefix, time.Hour)
	h, err := handlers.New(handlers.Config{DeepLinkFunc: func(p string) string { return "https://t.me/zhucun_test_bot?start=" + p }}, storetest.DB(t), st)
	if err != nil {
		t.Fatal(err)
	}
	in := func(id int64, text, command string) handlers.Input {
		return handlers.Input{UpdateID: id, ChatID: 60, UserID: 60, Private: true, FirstName: "u", LanguageCode: "en",
			Text: text, Command: command}
	}
	if _, err := h.Handle(ctx, in(1, "/feedback", "feedback")); err != nil {
		t.Fatal(err)
	}
	if err := h.Delivered(ctx, 1); err != nil {
		t.Fatal(err)
	}
	before, err := st.Load(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	// What the dead process left: the conversation one step on, saved by update 2,
	// and no record of update 2.
	ahead := store.Conversation{Flow: before.Flow, Step: "anon", Draft: map[string]string{"text": "lost"},
		Version: before.Version, Update: 2, Prev: &before}
	if _, err := st.Save(ctx, 60, ahead); err != nil {
		t.Fatal(err)
	}

	replies, err := h.Handle(ctx, in(2, "The well pump is broken", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "anonymously") || len(replies[0].Buttons) == 0 {
		t.Fatalf("update 2 again: got %+v, want the anonymity question", replies)
	}
	now, err := st.Load(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if now.Step != "anon" || now.Update != 2 || now.Prev == nil || now.Prev.Step != before.Step {
		t.Fatalf("conversation after update 2: %+v, want at anon, saved by 2 from %s", now, before.Step)
	}
	for _, v := range now.Draft {
		if v == "lost" {
			t.Fatalf("the unfinished save's draft survived: %+v", now.Draft)
		}
	}
}
