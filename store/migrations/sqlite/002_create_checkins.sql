-- SQLite variant of migrations/002_create_checkins.sql.

-- Rules that differ by county. A county without a row uses the defaults.
CREATE TABLE county_settings (
    region_id          integer PRIMARY KEY REFERENCES regions (id),
    location_required  integer NOT NULL DEFAULT 0,
    required_days      integer NOT NULL DEFAULT 20 CHECK (required_days BETWEEN 0 AND 31),
    timezone           text NOT NULL DEFAULT '',
    updated_at         text NOT NULL DEFAULT (now())
);

-- One check-in per member per local day.
CREATE TABLE check_ins (
    id               integer PRIMARY KEY,
    user_id          integer NOT NULL REFERENCES users (id),
    region_id        integer NOT NULL REFERENCES regions (id),
    day              text NOT NULL,
    checked_at       text NOT NULL,
    source           text NOT NULL CHECK (source IN ('self', 'location', 'proxy')),
    recorded_by      integer NOT NULL REFERENCES users (id),
    latitude         real,
    longitude        real,
    accuracy_m       real,
    live             integer,
    located_at       text,
    received_at      text,
    distance_m       real,
    on_site          integer NOT NULL DEFAULT 1,
    off_site_reason  text NOT NULL DEFAULT '',
    off_site_note    text NOT NULL DEFAULT '',
    verdict          text NOT NULL CHECK (verdict IN ('verified', 'unverified', 'doubtful', 'self_declared', 'proxy')),
    reasons          text NOT NULL DEFAULT '[]',
    photo_file_id    text NOT NULL DEFAULT '',
    photo_unique_id  text NOT NULL DEFAULT '',
    created_at       text NOT NULL DEFAULT (now()),
    UNIQUE (user_id, day),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX check_ins_region_day_idx ON check_ins (region_id, day);

-- Days of leave a first secretary entered for a member; they are not missing days.
CREATE TABLE leave_days (
    user_id      integer NOT NULL REFERENCES users (id),
    region_id    integer NOT NULL REFERENCES regions (id),
    day          text NOT NULL,
    recorded_by  integer NOT NULL REFERENCES users (id),
    created_at   text NOT NULL DEFAULT (now()),
    PRIMARY KEY (user_id, day)
);
