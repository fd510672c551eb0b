-- Rules that differ by county. A county without a row uses the defaults.
CREATE TABLE county_settings (
    region_id          bigint PRIMARY KEY REFERENCES regions (id),
    location_required  boolean NOT NULL DEFAULT false,
    required_days      integer NOT NULL DEFAULT 20 CHECK (required_days BETWEEN 0 AND 31),
    timezone           text NOT NULL DEFAULT '',
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- One check-in per member per local day. A check-in starts self-declared, recorded by the
-- first secretary (proxy), or with a location; a location and a photo may be added to it.
CREATE TABLE check_ins (
    id               bigserial PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id),
    region_id        bigint NOT NULL REFERENCES regions (id),
    day              date NOT NULL,
    checked_at       timestamptz NOT NULL,
    source           text NOT NULL CHECK (source IN ('self', 'location', 'proxy')),
    recorded_by      bigint NOT NULL REFERENCES users (id),
    latitude         double precision,
    longitude        double precision,
    accuracy_m       double precision,
    live             boolean,
    located_at       timestamptz,
    received_at      timestamptz,
    distance_m       double precision,
    on_site          boolean NOT NULL DEFAULT true,
    off_site_reason  text NOT NULL DEFAULT '',
    off_site_note    text NOT NULL DEFAULT '',
    verdict          text NOT NULL CHECK (verdict IN ('verified', 'unverified', 'doubtful', 'self_declared', 'proxy')),
    reasons          text[] NOT NULL DEFAULT '{}',
    photo_file_id    text NOT NULL DEFAULT '',
    photo_unique_id  text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, day),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX check_ins_region_day_idx ON check_ins (region_id, day);

-- Days of leave a first secretary entered for a member; they are not missing days.
CREATE TABLE leave_days (
    user_id      bigint NOT NULL REFERENCES users (id),
    region_id    bigint NOT NULL REFERENCES regions (id),
    day          date NOT NULL,
    recorded_by  bigint NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, day)
);
