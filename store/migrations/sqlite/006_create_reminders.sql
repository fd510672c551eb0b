-- SQLite variant of migrations/006_create_reminders.sql.
ALTER TABLE county_settings ADD COLUMN checkin_reminder integer NOT NULL DEFAULT 0;
ALTER TABLE county_settings ADD COLUMN checkin_reminder_at integer NOT NULL DEFAULT 600 CHECK (checkin_reminder_at BETWEEN 0 AND 1439);
ALTER TABLE county_settings ADD COLUMN digest_at integer NOT NULL DEFAULT 1200 CHECK (digest_at BETWEEN 0 AND 1439);
ALTER TABLE county_settings ADD COLUMN escalate_after_days integer NOT NULL DEFAULT 3 CHECK (escalate_after_days BETWEEN 1 AND 30);
ALTER TABLE county_settings ADD COLUMN quiet_from integer NOT NULL DEFAULT 1290 CHECK (quiet_from BETWEEN 0 AND 1439);
ALTER TABLE county_settings ADD COLUMN quiet_to integer NOT NULL DEFAULT 450 CHECK (quiet_to BETWEEN 0 AND 1439);

CREATE TABLE reminder_prefs (
    user_id     integer NOT NULL REFERENCES users (id),
    kind        text NOT NULL CHECK (kind IN ('checkin', 'digest', 'update', 'deadline', 'escalation', 'weekly')),
    muted       integer NOT NULL DEFAULT 0,
    at_minute   integer CHECK (at_minute BETWEEN 0 AND 1439),
    updated_at  text NOT NULL DEFAULT (now()),
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE reminder_outbox (
    id             integer PRIMARY KEY,
    kind           text NOT NULL,
    occurrence     text NOT NULL,
    chat_id        integer NOT NULL,
    text           text NOT NULL,
    planned_at     text NOT NULL,
    send_after     text NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    claimed_until  text,
    done_at        text,
    outcome        text NOT NULL DEFAULT '' CHECK (outcome IN ('', 'sent', 'blocked', 'failed')),
    last_error     text NOT NULL DEFAULT '',
    UNIQUE (kind, occurrence, chat_id)
);
CREATE INDEX reminder_outbox_pending_idx ON reminder_outbox (send_after, id) WHERE outcome = '';

CREATE TABLE problem_escalations (
    problem_id    integer NOT NULL REFERENCES problems (id),
    level         integer NOT NULL CHECK (level IN (1, 2)),
    deadline      text NOT NULL,
    user_id       integer NOT NULL REFERENCES users (id),
    escalated_at  text NOT NULL,
    PRIMARY KEY (problem_id, level, deadline, user_id)
);
