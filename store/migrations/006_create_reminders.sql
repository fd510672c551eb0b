-- Reminders, digests and escalations: a county's rules for them, each person's choices,
-- and every message planned, so that each goes out once whatever the replicas and
-- crashes. Times of day are minutes after local midnight (600 = 10:00).

-- The check-in reminder is off unless the county turns it on (no compulsory check-in).
-- Overdue problems go to the township's supervisors after escalate_after_days working
-- days, to the county's after twice as many. Nothing is sent in the quiet hours: what
-- falls due then waits for their end.
ALTER TABLE county_settings
    ADD COLUMN checkin_reminder     boolean NOT NULL DEFAULT false,
    ADD COLUMN checkin_reminder_at  integer NOT NULL DEFAULT 600 CHECK (checkin_reminder_at BETWEEN 0 AND 1439),
    ADD COLUMN digest_at            integer NOT NULL DEFAULT 1200 CHECK (digest_at BETWEEN 0 AND 1439),
    ADD COLUMN escalate_after_days  integer NOT NULL DEFAULT 3 CHECK (escalate_after_days BETWEEN 1 AND 30),
    ADD COLUMN quiet_from           integer NOT NULL DEFAULT 1290 CHECK (quiet_from BETWEEN 0 AND 1439),
    ADD COLUMN quiet_to             integer NOT NULL DEFAULT 450 CHECK (quiet_to BETWEEN 0 AND 1439);

-- A person's choice for one kind of reminder: muted, or at another time of day.
CREATE TABLE reminder_prefs (
    user_id     bigint NOT NULL REFERENCES users (id),
    kind        text NOT NULL CHECK (kind IN ('checkin', 'digest', 'update', 'deadline', 'escalation', 'weekly')),
    muted       boolean NOT NULL DEFAULT false,
    at_minute   integer CHECK (at_minute BETWEEN 0 AND 1439),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

-- Every reminder message planned, at most one per kind, occurrence (a day, a week, …)
-- and chat. A sender claims a message for a while (claimed_until) before sending it;
-- attempts counts the claims and tells a stale claim from the current one. A message
-- whose sender died is claimed again once its claim ran out: only a message in flight
-- at a crash can go out twice. outcome is empty until the message is done.
CREATE TABLE reminder_outbox (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL,
    occurrence     text NOT NULL,
    chat_id        bigint NOT NULL,
    text           text NOT NULL,
    planned_at     timestamptz NOT NULL,
    send_after     timestamptz NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    claimed_until  timestamptz,
    done_at        timestamptz,
    outcome        text NOT NULL DEFAULT '' CHECK (outcome IN ('', 'sent', 'blocked', 'failed')),
    last_error     text NOT NULL DEFAULT '',
    UNIQUE (kind, occurrence, chat_id)
);
CREATE INDEX reminder_outbox_pending_idx ON reminder_outbox (send_after, id) WHERE outcome = '';

-- Which supervisor was told that a problem is overdue, at which level (1 the township,
-- 2 the county), for which deadline: each is told once per level and deadline.
CREATE TABLE problem_escalations (
    problem_id    bigint NOT NULL REFERENCES problems (id),
    level         integer NOT NULL CHECK (level IN (1, 2)),
    deadline      date NOT NULL,
    user_id       bigint NOT NULL REFERENCES users (id),
    escalated_at  timestamptz NOT NULL,
    PRIMARY KEY (problem_id, level, deadline, user_id)
);
