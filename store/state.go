package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Conversation is where a chat stands in a flow: the flow, its step, what the user has
// given so far, and a version that moves on with every save.
type Conversation struct {
	Flow    string            `json:"flow"`
	Step    string            `json:"step"`
	Draft   map[string]string `json:"draft,omitempty"`
	Version int64             `json:"version"`
	// Update is the update whose handling saved this conversation and Prev the
	// conversation before it. The save comes before that update's records commit: if
	// they never do (the process died in between), the update comes again and finds
	// its own unfinished save, which it undoes back to Prev.
	Update int64         `json:"update,omitempty"`
	Prev   *Conversation `json:"prev,omitempty"`
}

// Active reports whether the chat is inside a flow.
func (c Conversation) Active() bool { return c.Flow != "" }

// State keeps conversations, each for TTL after its last save: in Redis under a key
// prefix (NewState), or embedded in a SQLite file (OpenEmbeddedState). The two behave
// alike: the same versioned compare-and-set, the same TTL, the same draft photos.
type State struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration

	lite *sql.DB // the embedded backend, when rdb is nil
}

// NewState returns conversation state on rdb. Keys start with prefix ("zhucun:" in
// production, one per test in tests).
func NewState(rdb redis.UniversalClient, prefix string, ttl time.Duration) *State {
	return &State{rdb: rdb, prefix: prefix, ttl: ttl}
}

// OpenRedis connects to the Redis at url with deadlines honoured on every call.
func OpenRedis(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("parse redis url: malformed (expected redis://host:port/db)")
	}
	opts.ContextTimeoutEnabled = true
	opts.DialTimeout = 3 * time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.WriteTimeout = 2 * time.Second
	// One retry takes over from a connection Redis closed (a restart); more would only
	// multiply the wait when Redis is silent, and the caller says "busy" sooner.
	opts.MaxRetries = 1
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connect to redis: %w", err)
	}
	return rdb, nil
}

// Ping checks that Redis (or the embedded file) answers.
func (s *State) Ping(ctx context.Context) error {
	if s.lite != nil {
		return s.lite.PingContext(ctx)
	}
	return s.rdb.Ping(ctx).Err()
}

// Embedded reports whether the state is kept in a SQLite file.
func (s *State) Embedded() bool { return s.lite != nil }

func (s *State) key(chatID int64) string {
	return s.prefix + "conv:" + strconv.FormatInt(chatID, 10)
}

// Load returns the chat's conversation; a chat in no flow gets the zero Conversation
// with the version of its last save (0 if none).
func (s *State) Load(ctx context.Context, chatID int64) (Conversation, error) {
	if s.lite != nil {
		return s.loadLite(ctx, chatID)
	}
	b, err := s.rdb.Get(ctx, s.key(chatID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Conversation{}, nil
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	var c Conversation
	if err := json.Unmarshal(b, &c); err != nil {
		return Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	return c, nil
}

// casScript writes ARGV[2] with TTL ARGV[3] ms only when the stored version is ARGV[1].
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then v = cjson.decode(cur)['version'] end
if tostring(v) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// Save stores c when the stored version is still c.Version and returns c with its new
// version. If another process saved in between, it fails with ErrConflict and stores
// nothing. A conversation that left its flow is kept as an empty record with its
// version, so a late writer still sees the version move.
func (s *State) Save(ctx context.Context, chatID int64, c Conversation) (Conversation, error) {
	next := c
	next.Version = c.Version + 1
	b, err := json.Marshal(next)
	if err != nil {
		return c, fmt.Errorf("save conversation: %w", err)
	}
	if s.lite != nil {
		return s.saveLite(ctx, chatID, c, next, b)
	}
	ok, err := casScript.Run(ctx, s.rdb, []string{s.key(chatID)},
		strconv.FormatInt(c.Version, 10), b, s.ttl.Milliseconds()).Int()
	if err != nil {
		return c, fmt.Errorf("save conversation: %w", err)
	}
	if ok == 0 {
		return c, fmt.Errorf("save conversation of %d: %w", chatID, ErrConflict)
	}
	return next, nil
}

// DraftPhoto is a photo gathered for a draft before its record exists.
type DraftPhoto struct {
	MessageID    int    `json:"message_id"`
	FileID       string `json:"file_id"`
	UniqueID     string `json:"unique_id"`
	MediaGroupID string `json:"media_group_id,omitempty"`
}

func (s *State) photosKey(chatID int64) string {
	return s.prefix + "photos:" + strconv.FormatInt(chatID, 10)
}

// AddDraftPhoto keeps a photo of the chat's draft under its message id, so a replay or
// a second process adding the same photo changes nothing, and the photos of an album
// come back in album order however their updates arrived. The draft keeps at most max
// photos, the first by message id: when there are more, the latest are dropped
// (overflow). It returns how many photos the draft holds and whether this is the first
// photo of its album to arrive.
func (s *State) AddDraftPhoto(ctx context.Context, chatID int64, p DraftPhoto, max int) (count int, firstOfAlbum, overflow bool, err error) {
	b, err := json.Marshal(p)
	if err != nil {
		return 0, false, false, err
	}
	if s.lite != nil {
		return s.addDraftPhotoLite(ctx, chatID, p, b, max)
	}
	key := s.photosKey(chatID)
	var hlen *redis.IntCmd
	var first *redis.BoolCmd
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, key, strconv.Itoa(p.MessageID), b)
		pipe.PExpire(ctx, key, s.ttl)
		hlen = pipe.HLen(ctx, key)
		if p.MediaGroupID != "" {
			first = pipe.SetNX(ctx, key+":album:"+p.MediaGroupID, 1, s.ttl)
		}
		return nil
	})
	if err != nil {
		return 0, false, false, fmt.Errorf("add draft photo: %w", err)
	}
	count = int(hlen.Val())
	if count > max {
		// Keep the first max by message id; two processes trimming at once agree.
		fields, err := s.rdb.HKeys(ctx, key).Result()
		if err != nil {
			return 0, false, false, fmt.Errorf("add draft photo: %w", err)
		}
		ids := make([]int, 0, len(fields))
		for _, f := range fields {
			if id, err := strconv.Atoi(f); err == nil {
				ids = append(ids, id)
			}
		}
		sort.Ints(ids)
		var drop []string
		for _, id := range ids[max:] {
			drop = append(drop, strconv.Itoa(id))
		}
		if err := s.rdb.HDel(ctx, key, drop...).Err(); err != nil {
			return 0, false, false, fmt.Errorf("add draft photo: %w", err)
		}
		count, overflow = max, true
	}
	return count, first != nil && first.Val(), overflow, nil
}

// DraftPhotos returns the photos of the chat's draft in message order.
func (s *State) DraftPhotos(ctx context.Context, chatID int64) ([]DraftPhoto, error) {
	var all []string
	if s.lite != nil {
		var err error
		if all, err = s.draftPhotosLite(ctx, chatID); err != nil {
			return nil, fmt.Errorf("draft photos: %w", err)
		}
	} else {
		m, err := s.rdb.HGetAll(ctx, s.photosKey(chatID)).Result()
		if err != nil {
			return nil, fmt.Errorf("draft photos: %w", err)
		}
		for _, v := range m {
			all = append(all, v)
		}
	}
	out := make([]DraftPhoto, 0, len(all))
	for _, v := range all {
		var p DraftPhoto
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, fmt.Errorf("draft photos: %w", err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MessageID < out[j].MessageID })
	return out, nil
}

// ClearDraftPhotos forgets the photos of the chat's draft.
func (s *State) ClearDraftPhotos(ctx context.Context, chatID int64) error {
	if s.lite != nil {
		if _, err := s.lite.ExecContext(ctx, `DELETE FROM draft_photos WHERE chat_id = $1`, chatID); err != nil {
			return fmt.Errorf("clear draft photos: %w", err)
		}
		return nil
	}
	if err := s.rdb.Del(ctx, s.photosKey(chatID)).Err(); err != nil {
		return fmt.Errorf("clear draft photos: %w", err)
	}
	return nil
}
