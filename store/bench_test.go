package store_test

import (
	"context"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

// BenchmarkStateLoadSave is the conversation state of one update on the real Redis:
// loaded, then saved with its version checked.
func BenchmarkStateLoadSave(b *testing.B) {
	ctx := context.Background()
	st := storetest.State(b, time.Hour)
	conv := store.Conversation{Flow: "report", Step: "description",
		Draft: map[string]string{"village": "12", "category": "economy", "description": "扶贫车间停工三个月，设备一直闲置"}}
	const chatID = 4242
	if _, err := st.Save(ctx, chatID, conv); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := st.Load(ctx, chatID)
		if err != nil {
			b.Fatal(err)
		}
		c.Draft["step"] = c.Step
		if _, err := st.Save(ctx, chatID, c); err != nil {
			b.Fatal(err)
		}
	}
}
