-- Weekly updates (周报): one per village team and ISO week, written by the first
-- secretary, with figures the bot takes from the records; the monthly report to the
-- county (每月汇报) is built from them.

-- The deadline of a week's update, per county: a weekday of that week (1 Monday … 7
-- Sunday) and an hour of local time (0–24; Sunday 24:00 is the end of the week).
ALTER TABLE county_settings
    ADD COLUMN weekly_deadline_weekday integer NOT NULL DEFAULT 7 CHECK (weekly_deadline_weekday BETWEEN 1 AND 7),
    ADD COLUMN weekly_deadline_hour    integer NOT NULL DEFAULT 24 CHECK (weekly_deadline_hour BETWEEN 0 AND 24);

-- A team's update of one week. sections is the working copy the first secretary edits
-- (section id → text): the draft before the first submission, the next correction
-- after it. What was submitted is in weekly_update_versions; version is the latest
-- there (0: never submitted). submitted_at and deadline_at are those of the first
-- submission, which decides on time or late.
CREATE TABLE weekly_updates (
    id            bigserial PRIMARY KEY,
    region_id     bigint NOT NULL REFERENCES regions (id),
    week          date NOT NULL CHECK (extract(isodow FROM week) = 1),
    sections      jsonb NOT NULL DEFAULT '{}',
    edited_at     timestamptz,
    edited_by     bigint REFERENCES users (id),
    version       integer NOT NULL DEFAULT 0,
    submitted_at  timestamptz,
    deadline_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (region_id, week),
    CHECK ((version = 0) = (submitted_at IS NULL))
);

-- Every submission of an update, corrections included: nothing submitted is ever
-- overwritten. figures is the snapshot of the week's figures at submission (JSON).
-- A version is read by a supervisor (which ends corrections) or sent back with a
-- comment (which asks for one), not both.
CREATE TABLE weekly_update_versions (
    update_id       bigint NOT NULL REFERENCES weekly_updates (id),
    version         integer NOT NULL CHECK (version > 0),
    sections        jsonb NOT NULL,
    figures         jsonb NOT NULL,
    submitted_at    timestamptz NOT NULL,
    submitted_by    bigint NOT NULL REFERENCES users (id),
    read_at         timestamptz,
    read_by         bigint REFERENCES users (id),
    returned_at     timestamptz,
    returned_by     bigint REFERENCES users (id),
    return_comment  text NOT NULL DEFAULT '',
    PRIMARY KEY (update_id, version),
    CHECK (read_at IS NULL OR returned_at IS NULL)
);

-- Notes team members add to their week's draft (/note), for the first secretary.
CREATE TABLE weekly_notes (
    id          bigserial PRIMARY KEY,
    region_id   bigint NOT NULL REFERENCES regions (id),
    week        date NOT NULL,
    user_id     bigint NOT NULL REFERENCES users (id),
    body        text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX weekly_notes_week_idx ON weekly_notes (region_id, week, id);
