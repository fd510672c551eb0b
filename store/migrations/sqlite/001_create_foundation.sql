-- SQLite variant of migrations/001_create_foundation.sql (same tables and meaning).
-- Times are UTC text "YYYY-MM-DD HH:MM:SS.ffffff" (now() gives that), dates
-- "YYYY-MM-DD", arrays and JSON are JSON text, bytea is BLOB, booleans 0 and 1.

-- The region tree: city → county → township → village. path holds the ids from the
-- root down ("/1/4/9/"), so "reaches" is a prefix test.
CREATE TABLE regions (
    id          integer PRIMARY KEY,
    parent_id   integer REFERENCES regions (id),
    level       text NOT NULL CHECK (level IN ('city', 'county', 'township', 'village')),
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    name_en     text NOT NULL DEFAULT '',
    path        text NOT NULL DEFAULT '',
    latitude    real,
    longitude   real,
    radius_m    integer,
    categories  text NOT NULL DEFAULT '[]',
    created_at  text NOT NULL DEFAULT (now()),
    CHECK ((level = 'village') = (latitude IS NOT NULL AND longitude IS NOT NULL AND radius_m IS NOT NULL))
);
CREATE INDEX regions_parent_idx ON regions (parent_id);
CREATE INDEX regions_path_idx ON regions (path);

-- users.id is the channel's user id (Telegram's user id).
CREATE TABLE users (
    id            integer PRIMARY KEY,
    first_name    text NOT NULL DEFAULT '',
    language_code text NOT NULL DEFAULT '',
    locale        text NOT NULL DEFAULT '',
    blocked_at    text,
    created_at    text NOT NULL DEFAULT (now()),
    updated_at    text NOT NULL DEFAULT (now())
);

CREATE TABLE role_assignments (
    id          integer PRIMARY KEY,
    user_id     integer NOT NULL REFERENCES users (id),
    role        text NOT NULL CHECK (role IN ('supervisor', 'first_secretary', 'member')),
    region_id   integer NOT NULL REFERENCES regions (id),
    granted_by  integer REFERENCES users (id),
    invite_id   integer,
    created_at  text NOT NULL DEFAULT (now()),
    revoked_at  text
);
CREATE UNIQUE INDEX role_assignments_active_idx ON role_assignments (user_id, role, region_id) WHERE revoked_at IS NULL;
CREATE INDEX role_assignments_region_idx ON role_assignments (region_id) WHERE revoked_at IS NULL;

-- An invite's token is never stored: only its SHA-256.
CREATE TABLE invites (
    id          integer PRIMARY KEY,
    token_hash  blob NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('supervisor', 'first_secretary', 'member')),
    region_id   integer NOT NULL REFERENCES regions (id),
    created_by  integer NOT NULL REFERENCES users (id),
    max_uses    integer NOT NULL CHECK (max_uses > 0),
    uses        integer NOT NULL DEFAULT 0 CHECK (uses <= max_uses),
    expires_at  text NOT NULL,
    revoked_at  text,
    created_at  text NOT NULL DEFAULT (now())
);

CREATE TABLE invite_redemptions (
    invite_id   integer NOT NULL REFERENCES invites (id),
    user_id     integer NOT NULL REFERENCES users (id),
    redeemed_at text NOT NULL DEFAULT (now()),
    PRIMARY KEY (invite_id, user_id)
);

-- One row per update whose records are committed; written in the same transaction as
-- those records. replies is the outbox of what the bot answered; sent_at is set by the
-- one process that claims sending them. No chat or user id.
CREATE TABLE processed_updates (
    update_id     integer PRIMARY KEY,
    processed_at  text NOT NULL DEFAULT (now()),
    replies       text NOT NULL DEFAULT '[]',
    sent_at       text
);

CREATE TABLE dead_letters (
    update_id   integer PRIMARY KEY,
    kind        text NOT NULL,
    attempts    integer NOT NULL,
    last_error  text NOT NULL,
    payload     text NOT NULL,
    created_at  text NOT NULL DEFAULT (now())
);

CREATE TABLE audit_log (
    id          integer PRIMARY KEY,
    at          text NOT NULL DEFAULT (now()),
    actor_id    integer,
    action      text NOT NULL,
    region_id   integer,
    subject     text NOT NULL DEFAULT '',
    details     text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_region_idx ON audit_log (region_id, at);

-- Feedback reaches the admins. An anonymous one has no user_id and only the day it
-- was sent, so it cannot be matched with anything else by time.
CREATE TABLE feedback (
    id          integer PRIMARY KEY,
    user_id     integer REFERENCES users (id),
    body        text NOT NULL,
    sent_on     text NOT NULL,
    created_at  text
);
