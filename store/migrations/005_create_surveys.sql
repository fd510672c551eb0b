-- Residents' satisfaction surveys (群众满意度测评). An answer must never be tied to a
-- person, not even by someone holding the database and the secret:
--  * survey_ballots and survey_comments hold the answers and nothing else: a random id,
--    the survey, how the answer came in, and the local day (no time, no user, chat,
--    message or update id, no token). A comment is not linked to its ballot.
--  * who has answered lives apart: a slip (single-use token) only as its SHA-256 and a
--    used flag; an account that answered an open survey only as an HMAC-SHA256 keyed
--    with ZHUCUN_SECRET. Neither points at a ballot.
--  * every write of a ballot rewrites all of its survey's ballots, comments, slips and
--    voter hashes in random order (store.CastBallot), so neither the rows' physical
--    order nor their transaction ids tell which answer came when, or with which slip.
--  * residents who asked for the headline result wait in survey_followers by chat id,
--    in no order and with no time, and are deleted once the notice is handed out.

-- A county's own rules; a missing value takes the template's default.
CREATE TABLE survey_settings (
    region_id    bigint PRIMARY KEY REFERENCES regions (id),
    min_answers  integer CHECK (min_answers BETWEEN 1 AND 1000),
    pass_rate    double precision CHECK (pass_rate > 0 AND pass_rate <= 1),
    formula      text CHECK (formula IN ('share', 'weighted')),
    weights      jsonb NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- template is the template as it was when the survey opened, with the county's weights;
-- min_answers, pass_rate and formula are the rules it opened with.
CREATE TABLE surveys (
    id            bigserial PRIMARY KEY,
    region_id     bigint NOT NULL REFERENCES regions (id),
    kind          text NOT NULL CHECK (kind IN ('assessment', 'open')),
    template_id   text NOT NULL,
    template      jsonb NOT NULL,
    min_answers   integer NOT NULL CHECK (min_answers > 0),
    pass_rate     double precision NOT NULL CHECK (pass_rate > 0 AND pass_rate <= 1),
    formula       text NOT NULL CHECK (formula IN ('share', 'weighted')),
    opens_at      timestamptz NOT NULL,
    closes_at     timestamptz NOT NULL,
    closed_at     timestamptz,
    created_by    bigint NOT NULL REFERENCES users (id),
    poster_hash   bytea UNIQUE,
    slips_issued  integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (closes_at > opens_at),
    CHECK ((kind = 'open') = (poster_hash IS NOT NULL))
);
CREATE INDEX surveys_region_idx ON surveys (region_id, closes_at);
CREATE INDEX surveys_due_idx ON surveys (closes_at) WHERE closed_at IS NULL;

-- One slip per sampled household of an assessment: its number is printed on it.
CREATE TABLE survey_slips (
    survey_id   bigint NOT NULL REFERENCES surveys (id),
    number      integer NOT NULL CHECK (number > 0),
    token_hash  bytea NOT NULL UNIQUE,
    used        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (survey_id, number)
);

CREATE TABLE survey_voters (
    survey_id   bigint NOT NULL REFERENCES surveys (id),
    voter_hash  bytea NOT NULL,
    PRIMARY KEY (survey_id, voter_hash)
);

CREATE TABLE survey_ballots (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_id    bigint NOT NULL REFERENCES surveys (id),
    source       text NOT NULL CHECK (source IN ('slip', 'paper', 'poster')),
    answered_on  date NOT NULL,
    choices      jsonb NOT NULL
);
CREATE INDEX survey_ballots_survey_idx ON survey_ballots (survey_id);

CREATE TABLE survey_comments (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_id  bigint NOT NULL REFERENCES surveys (id),
    body       text NOT NULL
);
CREATE INDEX survey_comments_survey_idx ON survey_comments (survey_id);

CREATE TABLE survey_followers (
    survey_id  bigint NOT NULL REFERENCES surveys (id),
    chat_id    bigint NOT NULL,
    PRIMARY KEY (survey_id, chat_id)
);

-- Notices of surveys closed outside any update (by the scheduler), until they are sent.
CREATE TABLE survey_notices (
    id      bigserial PRIMARY KEY,
    reply   jsonb NOT NULL
);
