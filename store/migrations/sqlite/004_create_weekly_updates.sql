-- SQLite variant of migrations/004_create_weekly_updates.sql.
ALTER TABLE county_settings ADD COLUMN weekly_deadline_weekday integer NOT NULL DEFAULT 7 CHECK (weekly_deadline_weekday BETWEEN 1 AND 7);
ALTER TABLE county_settings ADD COLUMN weekly_deadline_hour integer NOT NULL DEFAULT 24 CHECK (weekly_deadline_hour BETWEEN 0 AND 24);

CREATE TABLE weekly_updates (
    id            integer PRIMARY KEY,
    region_id     integer NOT NULL REFERENCES regions (id),
    week          text NOT NULL CHECK (strftime('%w', week) = '1'),
    sections      text NOT NULL DEFAULT '{}',
    edited_at     text,
    edited_by     integer REFERENCES users (id),
    version       integer NOT NULL DEFAULT 0,
    submitted_at  text,
    deadline_at   text,
    created_at    text NOT NULL DEFAULT (now()),
    UNIQUE (region_id, week),
    CHECK ((version = 0) = (submitted_at IS NULL))
);

CREATE TABLE weekly_update_versions (
    update_id       integer NOT NULL REFERENCES weekly_updates (id),
    version         integer NOT NULL CHECK (version > 0),
    sections        text NOT NULL,
    figures         text NOT NULL,
    submitted_at    text NOT NULL,
    submitted_by    integer NOT NULL REFERENCES users (id),
    read_at         text,
    read_by         integer REFERENCES users (id),
    returned_at     text,
    returned_by     integer REFERENCES users (id),
    return_comment  text NOT NULL DEFAULT '',
    PRIMARY KEY (update_id, version),
    CHECK (read_at IS NULL OR returned_at IS NULL)
);

CREATE TABLE weekly_notes (
    id          integer PRIMARY KEY,
    region_id   integer NOT NULL REFERENCES regions (id),
    week        text NOT NULL,
    user_id     integer NOT NULL REFERENCES users (id),
    body        text NOT NULL,
    created_at  text NOT NULL
);
CREATE INDEX weekly_notes_week_idx ON weekly_notes (region_id, week, id);
