package handlers_test

import (
	"context"
	"testing"
	"time"

	"zhucun/handlers"
	"zhucun/store"
	"zhucun/store/storetest"
)

// BenchmarkHandleRoute is one update's whole way through the handlers on the real
// Postgres and Redis: the conversation loaded, the transaction (processed mark, user,
// roles, routing, replies kept, conversation saved), the replies claimed. Each
// iteration is a member asking for their problems list: routed, nothing written.
func BenchmarkHandleRoute(b *testing.B) {
	ctx := context.Background()
	db := storetest.DB(b)
	h, err := handlers.New(handlers.Config{DeepLinkFunc: func(p string) string { return "https://t.me/b?start=" + p }},
		db, storetest.State(b, time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := db.UpsertRegions(ctx, []store.RegionInput{
		{Code: "C", Level: store.LevelCounty, Name: "县"},
		{Code: "T", ParentCode: "C", Level: store.LevelTownship, Name: "镇"},
		{Code: "V", ParentCode: "T", Level: store.LevelVillage, Name: "村", Latitude: f64(28.2), Longitude: f64(112.9), RadiusM: i32(1000)},
	}); err != nil {
		b.Fatal(err)
	}
	v, err := db.RegionByCode(ctx, "V")
	if err != nil {
		b.Fatal(err)
	}
	const member = 4242
	if _, err := db.TouchUser(ctx, member, "队员", "zh-hans"); err != nil {
		b.Fatal(err)
	}
	if err := db.GrantRole(ctx, member, store.RoleMember, v.ID, nil, nil); err != nil {
		b.Fatal(err)
	}
	id := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		id++
		replies, err := h.Handle(ctx, handlers.Input{UpdateID: id, UserID: member, ChatID: member, Private: true,
			FirstName: "队员", LanguageCode: "zh-hans", Date: time.Now(), Command: "problems"})
		if err != nil || len(replies) == 0 {
			b.Fatalf("handle: %d replies, %v", len(replies), err)
		}
	}
}
