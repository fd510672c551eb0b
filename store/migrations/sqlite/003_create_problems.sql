-- SQLite variant of migrations/003_create_problems.sql.
CREATE TABLE problem_counters (
    region_id  integer NOT NULL REFERENCES regions (id),
    year       integer NOT NULL,
    last       integer NOT NULL,
    PRIMARY KEY (region_id, year)
);

CREATE TABLE problems (
    id                 integer PRIMARY KEY,
    region_id          integer NOT NULL REFERENCES regions (id),
    year               integer NOT NULL,
    seq                integer NOT NULL,
    category           text NOT NULL,
    description        text NOT NULL,
    latitude           real NOT NULL,
    longitude          real NOT NULL,
    location_given     integer NOT NULL,
    urgency            text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    status             text NOT NULL CHECK (status IN ('reported', 'assigned', 'in_progress', 'resolved', 'verified', 'closed')),
    reported_by        integer NOT NULL REFERENCES users (id),
    reporter_role      text NOT NULL CHECK (reporter_role IN ('resident', 'member', 'first_secretary', 'supervisor', 'admin')),
    responsible_id     integer REFERENCES users (id),
    responsible_unit   text NOT NULL DEFAULT '',
    measures           text NOT NULL DEFAULT '',
    deadline           text,
    close_reason       text NOT NULL DEFAULT '',
    reported_at        text NOT NULL,
    updated_at         text NOT NULL,
    resolved_at        text,
    verified_at        text,
    closed_at          text,
    UNIQUE (region_id, year, seq)
);
CREATE INDEX problems_region_status_idx ON problems (region_id, status);
CREATE INDEX problems_responsible_idx ON problems (responsible_id) WHERE responsible_id IS NOT NULL;

CREATE TABLE problem_photos (
    id          integer PRIMARY KEY,
    problem_id  integer NOT NULL REFERENCES problems (id),
    history_id  integer,
    kind        text NOT NULL CHECK (kind IN ('report', 'progress', 'evidence')),
    position    integer NOT NULL,
    file_id     text NOT NULL,
    unique_id   text NOT NULL,
    sha256      text,
    archive_attempts  integer NOT NULL DEFAULT 0,
    archive_after     text NOT NULL DEFAULT (now()),
    archive_error     text NOT NULL DEFAULT '',
    created_at  text NOT NULL DEFAULT (now()),
    UNIQUE (problem_id, unique_id)
);
CREATE INDEX problem_photos_unarchived_idx ON problem_photos (archive_after) WHERE sha256 IS NULL;

CREATE TABLE photo_archive (
    unique_id   text PRIMARY KEY,
    sha256      text NOT NULL,
    size        integer NOT NULL,
    archived_at text NOT NULL DEFAULT (now())
);

CREATE TABLE problem_history (
    id          integer PRIMARY KEY,
    problem_id  integer NOT NULL REFERENCES problems (id),
    at          text NOT NULL,
    actor_id    integer NOT NULL REFERENCES users (id),
    action      text NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX problem_history_problem_idx ON problem_history (problem_id, id);

-- Residents join a village (through a poster's invite) to report problems. SQLite
-- cannot change a CHECK constraint: the two tables are rebuilt with the new one
-- (foreign keys are off while a migration runs, and checked before it commits).
CREATE TABLE role_assignments_new (
    id          integer PRIMARY KEY,
    user_id     integer NOT NULL REFERENCES users (id),
    role        text NOT NULL CHECK (role IN ('supervisor', 'first_secretary', 'member', 'resident')),
    region_id   integer NOT NULL REFERENCES regions (id),
    granted_by  integer REFERENCES users (id),
    invite_id   integer,
    created_at  text NOT NULL DEFAULT (now()),
    revoked_at  text
);
INSERT INTO role_assignments_new SELECT * FROM role_assignments;
DROP TABLE role_assignments;
ALTER TABLE role_assignments_new RENAME TO role_assignments;
CREATE UNIQUE INDEX role_assignments_active_idx ON role_assignments (user_id, role, region_id) WHERE revoked_at IS NULL;
CREATE INDEX role_assignments_region_idx ON role_assignments (region_id) WHERE revoked_at IS NULL;

CREATE TABLE invites_new (
    id          integer PRIMARY KEY,
    token_hash  blob NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('supervisor', 'first_secretary', 'member', 'resident')),
    region_id   integer NOT NULL REFERENCES regions (id),
    created_by  integer NOT NULL REFERENCES users (id),
    max_uses    integer NOT NULL CHECK (max_uses > 0),
    uses        integer NOT NULL DEFAULT 0 CHECK (uses <= max_uses),
    expires_at  text NOT NULL,
    revoked_at  text,
    created_at  text NOT NULL DEFAULT (now())
);
INSERT INTO invites_new SELECT * FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;
