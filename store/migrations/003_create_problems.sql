-- The problem ledger (问题台账): every problem found in a village, numbered per village
-- and year, with who answers for it, by when, its photos and its history.
CREATE TABLE problem_counters (
    region_id  bigint NOT NULL REFERENCES regions (id),
    year       integer NOT NULL,
    last       integer NOT NULL,
    PRIMARY KEY (region_id, year)
);

CREATE TABLE problems (
    id                 bigserial PRIMARY KEY,
    region_id          bigint NOT NULL REFERENCES regions (id),
    year               integer NOT NULL,
    seq                integer NOT NULL,
    category           text NOT NULL,
    description        text NOT NULL,
    latitude           double precision NOT NULL,
    longitude          double precision NOT NULL,
    location_given     boolean NOT NULL,
    urgency            text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    status             text NOT NULL CHECK (status IN ('reported', 'assigned', 'in_progress', 'resolved', 'verified', 'closed')),
    reported_by        bigint NOT NULL REFERENCES users (id),
    reporter_role      text NOT NULL CHECK (reporter_role IN ('resident', 'member', 'first_secretary', 'supervisor', 'admin')),
    responsible_id     bigint REFERENCES users (id),
    responsible_unit   text NOT NULL DEFAULT '',
    measures           text NOT NULL DEFAULT '',
    deadline           date,
    close_reason       text NOT NULL DEFAULT '',
    reported_at        timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    resolved_at        timestamptz,
    verified_at        timestamptz,
    closed_at          timestamptz,
    UNIQUE (region_id, year, seq)
);
CREATE INDEX problems_region_status_idx ON problems (region_id, status);
CREATE INDEX problems_responsible_idx ON problems (responsible_id) WHERE responsible_id IS NOT NULL;

-- Photos of a problem: when reported, as progress, as evidence of the fix. file_id is
-- the channel's; sha256 is set once the bytes are archived.
CREATE TABLE problem_photos (
    id          bigserial PRIMARY KEY,
    problem_id  bigint NOT NULL REFERENCES problems (id),
    history_id  bigint,
    kind        text NOT NULL CHECK (kind IN ('report', 'progress', 'evidence')),
    position    integer NOT NULL,
    file_id     text NOT NULL,
    unique_id   text NOT NULL,
    sha256      text,
    -- archiving retries with a growing pause until it succeeds
    archive_attempts  integer NOT NULL DEFAULT 0,
    archive_after     timestamptz NOT NULL DEFAULT now(),
    archive_error     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (problem_id, unique_id)
);
CREATE INDEX problem_photos_unarchived_idx ON problem_photos (archive_after) WHERE sha256 IS NULL;

-- Archived photo bytes, content-addressed; one row per distinct Telegram file.
CREATE TABLE photo_archive (
    unique_id   text PRIMARY KEY,
    sha256      text NOT NULL,
    size        integer NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now()
);

-- Who did what to a problem, and when.
CREATE TABLE problem_history (
    id          bigserial PRIMARY KEY,
    problem_id  bigint NOT NULL REFERENCES problems (id),
    at          timestamptz NOT NULL,
    actor_id    bigint NOT NULL REFERENCES users (id),
    action      text NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX problem_history_problem_idx ON problem_history (problem_id, id);

-- Residents join a village (through a poster's invite) to report problems.
ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_role_check;
ALTER TABLE role_assignments ADD CONSTRAINT role_assignments_role_check
    CHECK (role IN ('supervisor', 'first_secretary', 'member', 'resident'));
ALTER TABLE invites DROP CONSTRAINT invites_role_check;
ALTER TABLE invites ADD CONSTRAINT invites_role_check
    CHECK (role IN ('supervisor', 'first_secretary', 'member', 'resident'));
