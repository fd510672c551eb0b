-- SQLite variant of migrations/005_create_surveys.sql: the same tables and the same
-- rules of anonymity (see there).
CREATE TABLE survey_settings (
    region_id    integer PRIMARY KEY REFERENCES regions (id),
    min_answers  integer CHECK (min_answers BETWEEN 1 AND 1000),
    pass_rate    real CHECK (pass_rate > 0 AND pass_rate <= 1),
    formula      text CHECK (formula IN ('share', 'weighted')),
    weights      text NOT NULL DEFAULT '{}',
    updated_at   text NOT NULL DEFAULT (now())
);

CREATE TABLE surveys (
    id            integer PRIMARY KEY,
    region_id     integer NOT NULL REFERENCES regions (id),
    kind          text NOT NULL CHECK (kind IN ('assessment', 'open')),
    template_id   text NOT NULL,
    template      text NOT NULL,
    min_answers   integer NOT NULL CHECK (min_answers > 0),
    pass_rate     real NOT NULL CHECK (pass_rate > 0 AND pass_rate <= 1),
    formula       text NOT NULL CHECK (formula IN ('share', 'weighted')),
    opens_at      text NOT NULL,
    closes_at     text NOT NULL,
    closed_at     text,
    created_by    integer NOT NULL REFERENCES users (id),
    poster_hash   blob UNIQUE,
    slips_issued  integer NOT NULL DEFAULT 0,
    created_at    text NOT NULL DEFAULT (now()),
    CHECK (closes_at > opens_at),
    CHECK ((kind = 'open') = (poster_hash IS NOT NULL))
);
CREATE INDEX surveys_region_idx ON surveys (region_id, closes_at);
CREATE INDEX surveys_due_idx ON surveys (closes_at) WHERE closed_at IS NULL;

CREATE TABLE survey_slips (
    survey_id   integer NOT NULL REFERENCES surveys (id),
    number      integer NOT NULL CHECK (number > 0),
    token_hash  blob NOT NULL UNIQUE,
    used        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (survey_id, number)
);

CREATE TABLE survey_voters (
    survey_id   integer NOT NULL REFERENCES surveys (id),
    voter_hash  blob NOT NULL,
    PRIMARY KEY (survey_id, voter_hash)
);

CREATE TABLE survey_ballots (
    id           text PRIMARY KEY DEFAULT (lower(hex(randomblob(16)))),
    survey_id    integer NOT NULL REFERENCES surveys (id),
    source       text NOT NULL CHECK (source IN ('slip', 'paper', 'poster')),
    answered_on  text NOT NULL,
    choices      text NOT NULL
);
CREATE INDEX survey_ballots_survey_idx ON survey_ballots (survey_id);

CREATE TABLE survey_comments (
    id         text PRIMARY KEY DEFAULT (lower(hex(randomblob(16)))),
    survey_id  integer NOT NULL REFERENCES surveys (id),
    body       text NOT NULL
);
CREATE INDEX survey_comments_survey_idx ON survey_comments (survey_id);

CREATE TABLE survey_followers (
    survey_id  integer NOT NULL REFERENCES surveys (id),
    chat_id    integer NOT NULL,
    PRIMARY KEY (survey_id, chat_id)
);

CREATE TABLE survey_notices (
    id      integer PRIMARY KEY,
    reply   text NOT NULL
);
